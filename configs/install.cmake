# Runs at install time (cmake --install, cpack), when the prefix is known: the systemd units name
# the installed programs and config by their full paths, and the config goes to /etc where the
# prefix is /usr (the Debian package), to PREFIX/etc elsewhere (e.g. /usr/local/etc). systemd,
# systemd-sysusers, man and bash-completion all look under /usr/local as well as /usr.
# Set by the caller: RINGWATCH_SOURCE_DIR, RINGWATCH_BINARY_DIR.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(RINGWATCH_CONFDIR /etc/ringwatch)
else()
  set(RINGWATCH_CONFDIR "${CMAKE_INSTALL_PREFIX}/etc/ringwatch")
endif()
set(RINGWATCH_BINDIR "${CMAKE_INSTALL_PREFIX}/bin")
foreach(unit ringwatch-node@.service ringwatch-monitor.service ringwatch-monitor@.service)
  configure_file("${RINGWATCH_SOURCE_DIR}/configs/systemd/${unit}" "${RINGWATCH_BINARY_DIR}/systemd/${unit}" @ONLY)
  file(INSTALL "${RINGWATCH_BINARY_DIR}/systemd/${unit}" DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
endforeach()
file(INSTALL "${RINGWATCH_SOURCE_DIR}/configs/systemd/ringwatch.sysusers" DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/sysusers.d"
     RENAME ringwatch.conf)
# An operator's edited config is never overwritten: the new default goes beside it.
if(EXISTS "$ENV{DESTDIR}${RINGWATCH_CONFDIR}/ring.toml")
  set(config_name ring.toml.dist)
  message(STATUS "Keeping ${RINGWATCH_CONFDIR}/ring.toml; the default config is ${RINGWATCH_CONFDIR}/ring.toml.dist")
else()
  set(config_name ring.toml)
endif()
file(INSTALL "${RINGWATCH_SOURCE_DIR}/configs/ringwatch.toml" DESTINATION "${RINGWATCH_CONFDIR}" RENAME ${config_name})

#!/usr/bin/python3
"""The operator's install, checked end to end from a build directory:

1. `cpack -G DEB` makes the Debian package: the files it must hold, its dependencies, its
   conffile, maintainer scripts that parse;
2. `cmake --install --prefix P` installs the same tree; `systemd-analyze verify` passes on its units;
3. the installed programs run as the units run them (their ExecStart lines, a config at the path
   the units name) under a stand-in for systemd's notify socket: each says READY=1, `ring status`
   finds the ring well, each says STOPPING=1 on SIGTERM and exits 0;
4. bash completion completes from the installed programs; the man pages name every subcommand and
   option the programs have and every key the config accepts.

usage: check_package.py BUILD_DIR SOURCE_DIR
"""
import gzip
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEADLINE_S = 20


def run(*args, ok=True, **kw):
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120, **kw)
    if ok and r.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} exited {r.returncode}:\n{r.stdout}{r.stderr}")
    return r


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def check_deb(build, work):
    out = work / "deb"
    run("cpack", "-G", "DEB", "-B", out, cwd=build)
    (deb,) = out.glob("ringwatch_*.deb")
    files = {line.split()[-1].lstrip(".") for line in run("dpkg-deb", "-c", deb).stdout.splitlines()}
    for want in ["/usr/bin/ring", "/usr/bin/ringwatch-monitor", "/etc/ringwatch/ring.toml",
                 "/usr/lib/systemd/system/ringwatch-node@.service", "/usr/lib/systemd/system/ringwatch-monitor.service",
                 "/usr/lib/systemd/system/ringwatch-monitor@.service",
                 "/usr/lib/sysusers.d/ringwatch.conf", "/usr/share/man/man1/ring.1.gz", "/usr/share/man/man1/ringwatch-monitor.1.gz",
                 "/usr/share/man/man5/ringwatch.toml.5.gz", "/usr/share/bash-completion/completions/ring",
                 "/usr/share/bash-completion/completions/ringwatch-monitor", "/usr/share/ringwatch/ringwatch-alerts.yml",
                 "/usr/share/ringwatch/ringwatch-grafana.json", "/usr/share/doc/ringwatch/examples/multihost.toml"]:
        check(want in files, f"the package lacks {want}")
    # The packaged units name the programs in /usr/bin and the config in /etc/ringwatch.
    unpacked = work / "unpacked"
    run("dpkg-deb", "-x", deb, unpacked)
    node_unit = (unpacked / "usr/lib/systemd/system/ringwatch-node@.service").read_text()
    check("ExecStart=/usr/bin/ring node /etc/ringwatch/ring.toml --id %i" in node_unit and "ReadWritePaths=/etc/ringwatch" in node_unit,
          f"the packaged node unit names other paths:\n{node_unit}")
    depends = run("dpkg-deb", "-f", deb, "Depends").stdout
    for lib in ("libuv1", "libsodium23", "libsystemd0", "libfmt9"):
        check(lib in depends, f"the package does not depend on {lib}: {depends}")
    control = work / "control"
    run("dpkg-deb", "-e", deb, control)
    check((control / "conffiles").read_text().split() == ["/etc/ringwatch/ring.toml"], "the config is not the package's conffile")
    for script in ("postinst", "prerm", "postrm"):
        check(os.access(control / script, os.X_OK), f"{script} is not executable")
        run("sh", "-n", control / script)
    print(f"package: {deb.name}, {len(files)} paths, depends on {depends.strip()}")


def verify_units(prefix, work):
    units = work / "units"
    units.mkdir()
    for unit in (prefix / "lib/systemd/system").iterdir():
        shutil.copy(unit, units)
    (units / "ringwatch-node@1.service").symlink_to("ringwatch-node@.service")
    (units / "ringwatch-monitor@1.service").symlink_to("ringwatch-monitor@.service")
    r = run("systemd-analyze", "verify", "--man=no", units / "ringwatch-node@1.service", units / "ringwatch-monitor.service",
            units / "ringwatch-monitor@1.service", ok=False)
    check(r.returncode == 0 and not (r.stdout + r.stderr).strip(), f"systemd-analyze verify:\n{r.stdout}{r.stderr}")
    print("units: systemd-analyze verify clean")


def exec_start(prefix, unit, instance=""):
    text = (prefix / "lib/systemd/system" / unit).read_text()
    (line,) = re.findall(r"^ExecStart=(.*)$", text, re.M)
    return line.replace("%i", instance).split()


class Notified:
    """A stand-in for systemd's notify socket: one per process, its messages in order."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.messages = []

    def await_state(self, state, what):
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            if any(state in m.split("\n") for m in self.messages):
                return next(m for m in self.messages if state in m.split("\n"))
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except socket.timeout:
                pass
        raise AssertionError(f"{what} did not say {state} within {DEADLINE_S} s (said: {self.messages})")


def run_as_units(build, prefix, work):
    ports = run(build / "bin" / "free_ports", "5").stdout.split()
    conf_dir = prefix / "etc" / "ringwatch"
    key = conf_dir / "ring.key"
    key.unlink(missing_ok=True)
    run(prefix / "bin" / "ring", "keygen", key)
    state = work / "state"
    state.mkdir(mode=0o700)
    text = f'[ring]\nname = "pkg"\nkey_file = "ring.key"\nstate_dir = "{state}"\n\n[monitor]\naddress = "127.0.0.1:{ports[0]}"\n'
    for i in range(3):
        text += f'\n[[nodes]]\nid = {i}\naddress = "127.0.0.1:{ports[i + 1]}"\n'
    (conf_dir / "ring.toml").write_text(text)
    procs = []
    try:
        for name, unit, instance in [("node 0", "ringwatch-node@.service", "0"), ("node 1", "ringwatch-node@.service", "1"),
                                     ("node 2", "ringwatch-node@.service", "2"), ("monitor", "ringwatch-monitor.service", "")]:
            notify = Notified(work / f"notify-{len(procs)}")
            env = dict(os.environ, NOTIFY_SOCKET=notify.path)
            log = open(work / f"{name.replace(' ', '_')}.log", "w")
            proc = subprocess.Popen(exec_start(prefix, unit, instance), env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            procs.append((name, proc, notify))
        for name, proc, notify in procs:
            ready = notify.await_state("READY=1", name)
            check("STATUS=" in ready, f"{name}'s READY=1 has no STATUS line: {ready!r}")
        await_status_ok(prefix, conf_dir)
        for name, proc, notify in procs:
            proc.send_signal(signal.SIGTERM)
        for name, proc, notify in procs:
            notify.await_state("STOPPING=1", name)
            check(proc.wait(DEADLINE_S) == 0, f"{name} exited {proc.returncode} after SIGTERM")
        print("programs: READY=1 from 3 nodes and the monitor, ring status 0, STOPPING=1 and exit 0 on SIGTERM")
    finally:
        for _, proc, _ in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    # `ring up --with-monitor` from the installed tree finds the monitor as ringwatch-monitor.
    with open(work / "ring_up.log", "w") as log:
        up = subprocess.Popen([prefix / "bin" / "ring", "up", conf_dir / "ring.toml", "--with-monitor"], stdout=log, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL)
    try:
        await_status_ok(prefix, conf_dir)
        up.send_signal(signal.SIGINT)
        check(up.wait(DEADLINE_S) == 0, f"ring up exited {up.returncode}:\n{(work / 'ring_up.log').read_text()}")
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
    print("ring up --with-monitor: the installed ring and ringwatch-monitor well, exit 0 on Ctrl-C")


def await_status_ok(prefix, conf_dir):
    deadline = time.monotonic() + DEADLINE_S
    while True:
        status = run(prefix / "bin" / "ring", "status", conf_dir / "ring.toml", ok=False)
        if status.returncode == 0:
            return
        check(time.monotonic() < deadline, f"ring status did not find the ring well:\n{status.stdout}{status.stderr}")
        time.sleep(0.2)  # pacing of a poll whose condition is awaited above, not a synchronisation


def complete(prefix, *words):
    script = (f'source "{prefix}/share/bash-completion/completions/ring"; COMP_WORDS=({" ".join(repr(w) for w in words)}); '
              'COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMPREPLY=(); '
              f'if [ "{words[0]}" = ring ]; then _ring; else _ringwatch_monitor; fi; printf "%s\\n" "${{COMPREPLY[@]}}"')
    env = dict(os.environ, PATH=f"{prefix}/bin:{os.environ['PATH']}")
    return run("bash", "-c", script, env=env).stdout.split()


def check_completion_and_man(prefix, source):
    ring, monitor = prefix / "bin" / "ring", prefix / "bin" / "ringwatch-monitor"
    help_text = run(ring, "--help").stdout
    subcommands = re.findall(r"^  ([a-z][a-z-]*) ", help_text.split("Subcommands:")[1], re.M)
    check(len(subcommands) >= 10, f"ring --help lists {subcommands}")
    check(complete(prefix, "ring", "st") == ["status"], f"`ring st<TAB>`: {complete(prefix, 'ring', 'st')}")
    check(sorted(complete(prefix, "ring", "")) == sorted(subcommands), "`ring <TAB>` is not every subcommand")
    check("--watch" in complete(prefix, "ring", "status", "--"), "`ring status --<TAB>` lacks --watch")
    check(complete(prefix, "ringwatch-monitor", "--rec") == ["--recover"], "`ringwatch-monitor --rec<TAB>`")
    check(complete(prefix, "ringwatch-monitor", "--recover", "r") == ["regenerate", "rollback"], "`--recover r<TAB>`")

    def page(path):
        return gzip.decompress(path.read_bytes()).decode()

    ring_page = page(prefix / "share/man/man1/ring.1.gz")
    for sub in subcommands:
        check(re.search(rf"\b{re.escape(sub)}\b", ring_page), f"ring(1) does not name the subcommand {sub}")
        for option in set(re.findall(r"--[a-z][a-z-]*", run(ring, sub, "--help").stdout)):
            check(option.replace("-", r"\-") in ring_page or option in ring_page, f"ring(1) does not name {sub}'s {option}")
    monitor_page = page(prefix / "share/man/man1/ringwatch-monitor.1.gz")
    for option in set(re.findall(r"--[a-z][a-z-]*", run(monitor, "--help").stdout)):
        check(option.replace("-", r"\-") in monitor_page or option in monitor_page, f"ringwatch-monitor(1) does not name {option}")
    config_page = page(prefix / "share/man/man5/ringwatch.toml.5.gz")
    keys = set()
    for known in re.findall(r"reject_unknown\([^{]*\{([^}]*)\}", (source / "ring/config/ring_config.cpp").read_text()):
        keys |= set(re.findall(r'"([a-z_]+)"', known))
    check(len(keys) > 15, f"keys found in ring_config.cpp: {keys}")
    for key in sorted(keys):
        check(re.search(rf"^\.B {re.escape(key)}$|^\.SH \"\[+{re.escape(key)}\]+\"$", config_page, re.M),
              f"ringwatch.toml(5) does not describe the key {key}")
    print(f"completion: subcommands, options, values; man pages: {len(subcommands)} subcommands, {len(keys)} config keys")


def main():
    build, source = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    for tool in ("cpack", "dpkg-deb", "systemd-analyze", "bash"):
        check(shutil.which(tool), f"'{tool}' not found (bash .ci/install-deps --tests installs it)")
    with tempfile.TemporaryDirectory(prefix="ringwatch-package-") as tmp:
        work = Path(tmp)
        check_deb(build, work)
        prefix = work / "prefix"
        run("cmake", "--install", build, "--prefix", prefix)
        verify_units(prefix, work)
        run_as_units(build, prefix, work)
        check_completion_and_man(prefix, source)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as e:
        print(f"check_package: {e}", file=sys.stderr)
        sys.exit(1)

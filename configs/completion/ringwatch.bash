# bash completion for ring and ringwatch-monitor (installed as both names' completion). The options
# come from the programs' own --help, so completion knows what the installed version knows.

# The ids of the [[nodes]] of the config named on the line (the first *.toml word), one per line.
_ringwatch_node_ids() {
    local w
    for w in "${COMP_WORDS[@]}"; do
        if [[ $w == *.toml && -r $w ]]; then
            sed -n 's/^[[:space:]]*id[[:space:]]*=[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$w"
            return
        fi
    done
}

# The long options a program's --help lists (after the subcommand, if any).
_ringwatch_options() {
    "$@" --help 2> /dev/null | grep -o -- '--[a-z][a-z-]*' | sort -u
}

# Completes the word under the cursor for `$1` (the program) after its subcommand `$2` (may be empty).
_ringwatch_complete_args() {
    local program=$1 sub=$2 cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    case $prev in
        --id | --node | --from | --to)
            mapfile -t COMPREPLY < <(compgen -W "$(_ringwatch_node_ids)" -- "$cur")
            return ;;
        --mode) mapfile -t COMPREPLY < <(compgen -W "regenerate rollback" -- "$cur"); return ;;
        --recover) mapfile -t COMPREPLY < <(compgen -W "off regenerate rollback" -- "$cur"); return ;;
        --log-format) mapfile -t COMPREPLY < <(compgen -W "auto iso plain" -- "$cur"); return ;;
        --metrics | --http | --interval | --timeout | --node-timeout | --evict-after | --summary-every | --watch | --snapshots | --monitor | --link-loss | --link-dup | --link-delay)
            return ;;  # a value of the user's own
    esac
    if [[ $cur == -* ]]; then
        local options
        if [[ -n $sub ]]; then options=$(_ringwatch_options "$program" "$sub"); else options=$(_ringwatch_options "$program"); fi
        mapfile -t COMPREPLY < <(compgen -W "$options" -- "$cur")
        return
    fi
    if [[ $program == ring && $sub == inject ]]; then
        mapfile -t COMPREPLY < <(compgen -W "lose duplicate" -- "$cur")
    fi
    # The config once named, only rekey's new key file is still a file to complete.
    local w have_config=0
    for w in "${COMP_WORDS[@]:1:COMP_CWORD-1}"; do [[ $w == *.toml ]] && have_config=1; done
    if [[ $have_config == 1 && $sub != rekey ]]; then return; fi
    # A config (or, for keygen and rekey, a key file): files, *.toml and directories first.
    local files
    mapfile -t files < <(compgen -f -X '!*.toml' -- "$cur"; compgen -d -- "$cur")
    if [[ $sub == keygen || $sub == rekey || ${#files[@]} -eq 0 ]]; then mapfile -t files < <(compgen -f -- "$cur"); fi
    COMPREPLY+=("${files[@]}")
    compopt -o filenames 2> /dev/null
}

_ring() {
    local cur=${COMP_WORDS[COMP_CWORD]} i sub=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        if [[ ${COMP_WORDS[i]} != -* ]]; then sub=${COMP_WORDS[i]}; break; fi
    done
    if [[ -z $sub ]]; then
        if [[ $cur == -* ]]; then
            mapfile -t COMPREPLY < <(compgen -W "--help --version" -- "$cur")
        else
            local subs
            subs=$("${COMP_WORDS[0]}" --help 2> /dev/null | awk '/^Subcommands:/{s=1; next} s && /^  [a-z]/{print $1}')
            mapfile -t COMPREPLY < <(compgen -W "$subs" -- "$cur")
        fi
        return
    fi
    _ringwatch_complete_args "${COMP_WORDS[0]}" "$sub"
}

_ringwatch_monitor() {
    _ringwatch_complete_args "${COMP_WORDS[0]}" ""
}

complete -F _ring ring
complete -F _ringwatch_monitor ringwatch-monitor

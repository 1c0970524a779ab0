# Bash completion for dockmove's tasks: `source <(.venv/bin/inv completion)`.
# Task names and options come from Invoke (`inv --complete`); the value of
# --host, --to, --from and --compare from the inventory's host and group
# names (`inv hosts --names`, no connection made).
_dockmove_inv() {
    local inv=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]} prev=
    (( COMP_CWORD > 0 )) && prev=${COMP_WORDS[COMP_CWORD-1]}
    local candidates
    case "$prev" in
        --host|--to|--from|--compare)
            candidates=$("$inv" hosts --names 2>/dev/null) ;;
        *)
            candidates=$("$inv" --complete -- inv "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) ;;
    esac
    COMPREPLY=( $(compgen -W "$candidates" -- "$cur") )
}
complete -F _dockmove_inv -o default inv invoke

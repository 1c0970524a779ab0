# Bash completion for dockmove's tasks: `source <(.venv/bin/inv completion)`.
# Task names and options come from Invoke (`inv --complete`); after --host,
# --to, --from and --compare, the inventory's host and group names (`inv
# hosts --names`, no connection made), in this project's folder only (and
# from the --inventory given on the line). Candidates are matched as plain
# words: nothing in a name is expanded or run.
_dockmove_inv() {
    local inv=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]} prev= candidates word i
    local project=__PROJECT__
    (( COMP_CWORD > 0 )) && prev=${COMP_WORDS[COMP_CWORD-1]}
    case "$prev" in
        --host|--to|--from|--compare)
            [[ "$PWD" == "$project" || "$PWD" == "$project"/* ]] || return 0
            local given=()
            for (( i = 1; i < COMP_CWORD; i++ )); do
                [[ ${COMP_WORDS[i]} == --inventory ]] && given=(--inventory "${COMP_WORDS[i+1]}")
            done
            candidates=$("$inv" hosts --names "${given[@]}" 2>/dev/null) ;;
        *)
            candidates=$("$inv" --complete -- inv "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) ;;
    esac
    COMPREPLY=()
    while IFS= read -r word; do
        [[ -n $word && $word == "$cur"* ]] && COMPREPLY+=("$word")
    done <<< "$candidates"
}
complete -F _dockmove_inv -o default inv invoke

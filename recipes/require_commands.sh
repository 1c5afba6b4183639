# Sourced by the shell recipes: `require_commands NAME...` exits with one clear message when a
# command the recipe runs (the project's console scripts) is not on PATH, before any work.
require_commands() {
    local missing=() command
    for command in "$@"; do
        command -v "$command" > /dev/null 2>&1 || missing+=("$command")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "$(basename "$0"): ${missing[*]} not found on PATH: activate the environment where this project" \
             "is installed (python3 -m venv .venv && . .venv/bin/activate && pip install -e .)." >&2
        exit 127
    fi
}

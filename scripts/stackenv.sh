# Sourced by the test and demo scripts: builds the stack tool, (re)starts the
# local Sigstore stack and stops it again when the calling script exits.
CACHE=${CACHE:-$PWD/.cache}
STACK_DIR=${STACK_DIR:-$PWD/.stack}
STACK_TOOL=$CACHE/bin/stack
go build -o "$STACK_TOOL" ./test/localstack/cmd/stack
"$STACK_TOOL" down --dir "$STACK_DIR" >/dev/null 2>&1 || true
trap '"$STACK_TOOL" down --dir "$STACK_DIR"' EXIT
"$STACK_TOOL" up --dir "$STACK_DIR" --cache "$CACHE/stack"
# shellcheck disable=SC1091
source "$STACK_DIR/stack.env"

#!/usr/bin/env bash
# The validation step of the composite action (action.yml), kept in a script so the
# tests can run it as GitHub would. Inputs arrive as environment variables:
#   NNSPEC_PATHS  files, folders or globs, separated by whitespace (globs quoted by us)
#   NNSPEC_ARGS   extra options for `nnspec validate` (e.g. "--strict --ignore NN9")
#   NNSPEC_SARIF  where to write the SARIF report (empty: none)
# It writes workflow annotations to stdout, the SARIF file, and `exit-code` and
# `sarif-file` to $GITHUB_OUTPUT; it always exits 0 so the SARIF upload can run
# first; the action's last step fails the job with the recorded exit code.
set -uo pipefail

read -r -a paths <<< "${NNSPEC_PATHS:-.}"
read -r -a extra <<< "${NNSPEC_ARGS:-}"
set -f  # the paths are handed to nnspec unexpanded: it expands globs itself
status=0
if [[ -n "${NNSPEC_SARIF:-}" ]]; then
  mkdir -p "$(dirname "$NNSPEC_SARIF")"
  nnspec validate --format sarif --output-file "$NNSPEC_SARIF" --exit-zero \
    "${extra[@]}" "${paths[@]}" 2>/dev/null
fi
nnspec validate --format github "${extra[@]}" "${paths[@]}" || status=$?
{
  echo "exit-code=$status"
  echo "sarif-file=${NNSPEC_SARIF:-}"
} >> "${GITHUB_OUTPUT:-/dev/null}"
exit 0

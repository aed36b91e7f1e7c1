"""``nnspec validate FILE_OR_FOLDER...``: check documents, for people and for CI.

Expands the arguments to sources (`nnspec.cli.sources`), runs the spec pipeline
(`nnspec.spec.load`) on each, keeps the problems the settings select
(`nnspec.cli.config`), hands the results to a reporter from `nnspec.cli.report`
and decides the exit code: 0 all valid (warnings allowed unless strict), 1 some
invalid, 2 usage or configuration error, an unreadable file or a glob that matches
nothing. An unreadable file is also reported in-band (NN010), so json, github and
sarif reports name it. A bad configuration file found for some documents (or named
by ``--config``) is reported once on stderr, and in the json and sarif reports, and
those documents are left unchecked, but the walk goes on (exit 2 at the end). A
one-line summary goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from nnspec.cli.command import CommandError, ExitCode, check_outputs
from nnspec.cli.config import (
    DEFAULT,
    ConfigError,
    ConfigFinder,
    Selection,
    document_ignores,
    read_config,
    selectors,
)
from nnspec.cli.report import (
    REPORTERS,
    ConfigProblem,
    FileResult,
    render_statistics,
    summary,
)
from nnspec.cli.sources import STDIN, Source, Unreadable, declares_nnspec, expand, read
from nnspec.errors import Problem, SpecError
from nnspec.fileio import write_atomic
from nnspec.spec.limits import DEFAULT_LIMITS, Limits
from nnspec.spec.load import validate
from nnspec.spec.parse import parse_json

HELP = "check documents against the schema and the graph rules (exit 0 valid, 1 invalid)"


def _positive(text: str) -> int:
    digits = text.strip(" \t")
    if not (digits.isascii() and digits.isdigit()):  # int() would take "٣" and "1_0"
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="FILE_OR_FOLDER",
        help='documents, folders (every *.json inside that declares "nnspec"), quoted globs '
        "such as 'models/**/*.json' (** is recursive), or - for standard input",
    )
    parser.add_argument(
        "-f",
        "--format",
        choices=list(REPORTERS),
        default="text",
        help="output format: " + "; ".join(f"{name}: {r.help}" for name, r in REPORTERS.items()),
    )
    parser.add_argument("--strict", action="store_true", help="treat warnings as failures (exit 1)")
    parser.add_argument(
        "--exit-zero",
        action="store_true",
        help="exit 0 even when a file is invalid or unreadable (usage errors still exit 2)",
    )
    parser.add_argument(
        "-o",
        "--output-file",
        metavar="FILE",
        help="write the report to FILE instead of standard output (the summary stays on stderr)",
    )
    parser.add_argument(
        "--statistics",
        action="store_true",
        help="report how often each code occurs instead of each problem (text or json)",
    )
    parser.add_argument(
        "--only-nnspec",
        action="store_true",
        help="skip named files that are not nnspec documents (JSON without a top-level "
        '"nnspec" key), as folders always do; for pre-commit\'s types: [json]',
    )
    parser.add_argument(
        "--stdin-filename",
        metavar="NAME",
        help="the name to report for - (standard input); also where configuration and a "
        "relative weights file are looked up",
    )
    rules = parser.add_argument_group("selecting warnings (errors are always reported)")
    for option, what in (
        ("--select", "report only these warnings (replaces the configured selection)"),
        ("--extend-select", "report these warnings too"),
        ("--ignore", "do not report these warnings"),
    ):
        rules.add_argument(
            option,
            metavar="CODES",
            action="append",
            help=f"{what}; codes or prefixes, comma-separated (NN902, NN9, ALL)",
        )
    rules.add_argument(
        "--config",
        metavar="FILE",
        help="read settings from this nnspec.toml or pyproject.toml instead of the nearest one",
    )
    rules.add_argument("--isolated", action="store_true", help="ignore every configuration file")
    limits = parser.add_argument_group("limits (see docs/format.md#limits)")
    for option, field, what in (
        ("--max-nodes", "max_nodes", "nodes in one document"),
        ("--max-param-elements", "max_param_elements", "elements one param may allocate"),
        ("--max-file-bytes", "max_file_bytes", "bytes in one file"),
    ):
        limits.add_argument(
            option,
            type=_positive,
            default=getattr(DEFAULT_LIMITS, field),
            metavar="N",
            help=f"at most N {what} (default: %(default)s)",
        )


class _Settings:
    """The settings for each file: the configuration that applies to it, overridden by
    the command line."""

    def __init__(self, args: argparse.Namespace) -> None:
        self._fixed: Selection | ConfigError | None = None
        self._finder: ConfigFinder | None = None
        if args.config:
            try:
                config = read_config(Path(args.config))
                if config is None:
                    raise ConfigError(f"{args.config}: no [tool.nnspec] table", args.config)
            except ConfigError as exc:  # every document's, as a bad file found walking up
                self._fixed = exc
            else:
                self._fixed = config
        elif args.isolated:
            self._fixed = DEFAULT
        else:
            self._finder = ConfigFinder()
        self._select = _cli_selectors(args.select, "--select")
        self._extend = _cli_selectors(args.extend_select, "--extend-select") or ()
        self._ignore = _cli_selectors(args.ignore, "--ignore", ignoring=True) or ()
        self._strict = args.strict

    def for_file(self, path: str) -> Selection:
        if isinstance(self._fixed, ConfigError):
            raise self._fixed
        if self._fixed is not None:
            base = self._fixed
        else:
            assert self._finder is not None
            base = self._finder.for_file(path)
        changes: dict[str, object] = {
            "extend_select": (*base.extend_select, *self._extend),
            "ignore": (*base.ignore, *self._ignore),
            "strict": base.strict or self._strict,
        }
        if self._select is not None:  # the command line's --select replaces the file's
            changes.update(select=self._select, extend_select=self._extend)
        return replace(base, **changes)  # type: ignore[arg-type]


def _cli_selectors(
    values: list[str] | None, option: str, *, ignoring: bool = False
) -> tuple[str, ...] | None:
    if values is None:
        return None
    if not ",".join(values).strip(", "):
        raise ConfigError(f"{option}: expected a list of codes such as NN902")
    return selectors(",".join(values), option, ignoring=ignoring)


def _check(
    source: Source, label: str, limits: Limits, settings_for: Callable[[str], Selection]
) -> FileResult | None:
    """The file's result, or None for a sniffed file that is no nnspec document.

    The settings are looked up (`settings_for(label)`, which may raise `ConfigError`)
    only for a document: a bad configuration file above a folder's other JSON files
    does not matter to them."""
    try:
        data = read(source, limits.max_file_bytes)
    except Unreadable as exc:
        return FileResult(label, (Problem("NN010", f"cannot read the file: {exc}", file=label),))
    if source.sniff and not declares_nnspec(data):
        return None
    settings = settings_for(label)  # "-": the working folder's settings
    folder = Path(label).parent
    try:
        if len(data) > limits.max_file_bytes and not source.is_stdin:
            problems = validate(Path(source.path), limits=limits)  # reports the real size
        else:
            problems = validate(data, limits=limits, base_dir=folder)
    except Exception as exc:  # a checker bug must not become a traceback in CI logs
        message = f"internal error while checking {label}: {type(exc).__name__}: {exc}"
        return FileResult(label, (Problem("NN011", message + " (please report)", file=label),))
    problems = [p.located(file=label) for p in problems]
    ignored, malformed = _document_ignores(data)
    if malformed is not None:
        problems = sorted(
            [*problems, _malformed_settings(data, label, malformed)], key=Problem.sort_key
        )
    kept = tuple(
        p
        for p in problems
        if settings.reports(p.code) and (p.is_error or not any(map(p.code.startswith, ignored)))
    )
    return FileResult(label, kept, strict=settings.strict)


def _document_ignores(data: bytes) -> tuple[tuple[str, ...], str | None]:
    if b'"x-nnspec"' not in data:  # cheap: most documents have no settings
        return (), None
    try:
        return document_ignores(json.loads(data))
    except (ValueError, RecursionError):  # the parse problem is reported already
        return (), None


def _malformed_settings(data: bytes, label: str, why: str) -> Problem:
    problem = Problem("NN904", why, "/x-nnspec")
    try:
        return parse_json(data, path=label).locate(problem)
    except SpecError:
        return problem.located(file=label)


def run(args: argparse.Namespace) -> int:
    limits = Limits(
        max_file_bytes=args.max_file_bytes,
        max_nodes=args.max_nodes,
        max_param_elements=args.max_param_elements,
    )
    try:
        settings = _Settings(args)
    except ConfigError as exc:
        raise CommandError(str(exc)) from None
    if args.statistics and args.format not in ("text", "json"):
        raise CommandError("--statistics writes text or json; drop --format or pick one of those")
    if args.paths.count(STDIN) > 1:
        raise CommandError("- (standard input) can be given once")
    if args.stdin_filename is not None and STDIN not in args.paths:
        raise CommandError("--stdin-filename names standard input; give - among the files")
    sources, failures = expand(args.paths, sniff_files=args.only_nnspec)
    check_outputs([s.path for s in sources if not s.is_stdin], [args.output_file])
    results: list[FileResult] = []
    skipped = 0
    bad_configs: dict[str, int] = {}  # each configuration error once: how many files it left
    config_errors: dict[str, ConfigError] = {}
    for source in sources:
        label = (args.stdin_filename or STDIN) if source.is_stdin else source.path
        try:
            outcome = _check(source, label, limits, settings.for_file)
        except ConfigError as exc:
            bad_configs[str(exc)] = bad_configs.get(str(exc), 0) + 1
            config_errors.setdefault(str(exc), exc)
            continue
        if outcome is None:
            skipped += 1
        else:
            results.append(outcome)
    if args.statistics:
        report = render_statistics(results, args.format)
    else:
        configs = [ConfigProblem.of(e, bad_configs[k]) for k, e in config_errors.items()]
        report = REPORTERS[args.format]().render(results, configs)
    if args.output_file is None:
        sys.stdout.write(report)
        sys.stdout.flush()
    else:
        write_atomic(args.output_file, report)
    for failure in [*bad_configs, *failures]:
        print(f"nnspec validate: {failure}", file=sys.stderr)
    unchecked = sum(bad_configs.values())
    print(
        summary(results, unmatched=len(failures), skipped=skipped, unconfigured=unchecked),
        file=sys.stderr,
    )
    if failures or bad_configs or (not args.exit_zero and any(r.unreadable for r in results)):
        return ExitCode.USAGE
    if args.exit_zero:
        return ExitCode.OK
    return ExitCode.FAILED if any(r.failed for r in results) else ExitCode.OK

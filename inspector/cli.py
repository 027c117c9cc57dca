"""The command line: parse arguments, call the service, hand results to a renderer. Nothing else."""

from __future__ import annotations

import contextlib
import functools
import importlib
import io
import os
import sys
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

import click

from . import __version__, policy
from .errors import InspectorError
from .limits import DEFAULT, Limits
from .output import FORMATS
from .output.escape import escape
from .sources.engine_options import PULL_POLICIES, EngineOptions
from .sources.registry_ref import RegistryOptions

if TYPE_CHECKING:
    from . import reports
    from .fs.cache import LayerCache
    from .fs.helper import HelperStart
    from .sources import Image

# Everything that reads or renders an image is imported inside the command that needs it: starting the
# command line (``--version``, ``--help``, a usage error) then costs click and this module only.

EXIT_OK, EXIT_DIFFERENT, EXIT_BAD_INPUT, EXIT_VERIFY_FAILED = 0, 1, 2, 3


class _DefaultGroup(click.Group):
    """``inspect-image IMAGE`` means ``inspect-image inspect IMAGE``; subcommands still work.

    ``audit`` lives in ``cli_audit`` and is imported only when asked for (or listed by ``--help``): the
    fleet machinery (process pools, Dask's client) costs nothing to the other commands."""

    #: name -> (module, the one-line help --help lists without importing the module)
    LAZY = {"audit": ("cli_audit", "Audit many images: one JSON line each (NDJSON), every shared layer read once.")}

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in self.LAZY \
                and args[0] not in ("--help", "-h", "--version"):
            args = ["inspect", *args]
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.LAZY})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.LAZY and cmd_name not in self.commands:
            module = importlib.import_module(f".{self.LAZY[cmd_name][0]}", __package__)
            self.add_command(module.command(), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(map(len, names))
        rows = []
        for name in names:
            if name in self.LAZY and name not in self.commands:
                rows.append((name, click.Command(name, help=self.LAZY[name][1]).get_short_help_str(limit)))
            elif (command := self.get_command(ctx, name)) is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _format_options(func: Any) -> Any:
    func = click.option("--json", "as_json", is_flag=True, help="Same as --format json.")(func)
    return click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), default="table",
                        show_default=True, help="Output format.")(func)


@dataclass
class SourceArgs:
    """The options every command shares: which image, from where, how carefully, with what limits."""

    platform: str | None
    tag: str | None
    pull: str
    host: str | None
    verify: bool
    no_cache: bool
    limits: Limits
    digest: str | None = None

    registry: RegistryOptions = field(default_factory=RegistryOptions)  # --ca-cert, --insecure-registry
    source_kind: str | None = None  # --source engine|registry

    def open(self, image: str, cache: LayerCache | None) -> Image:
        from .sources import open_image

        engine = EngineOptions(host=self.host, pull=self.pull, progress=sys.stderr.isatty())
        return open_image(image, platform=self.platform, tag=self.tag, engine=engine, verify=self.verify,
                          limits=self.limits, cache=cache, digest=self.digest,
                          registry=self.registry, source=self.source_kind)

    def cache(self) -> LayerCache | None:
        """The per-layer cache, unless refused; --verify reads every byte, so it bypasses the cache too."""
        from .fs.cache import LayerCache

        return None if self.no_cache or self.verify else LayerCache()


#: ``--jobs`` of the commands that scan images on disk with helper processes (``parallel``).
_JOBS_OPTION = click.option("--jobs", "-j", type=click.IntRange(1, 1024), default=None, metavar="N",
                            help="Processes that scan layers at once (default: the CPUs; 1: this process alone).")

_SOURCE_OPTIONS = [
    click.option("--platform", metavar="OS/ARCH[/VARIANT]",
                 help="Pick this platform from a multi-platform image (default: this machine's)."),
    click.option("--tag", metavar="REPO:TAG", help="Pick this image from an archive holding several."),
    click.option("--digest", metavar="SHA256:HEX",
                 help="Pick the manifest (or index) with this digest from an archive or layout."),
    click.option("--pull", type=click.Choice(PULL_POLICIES), default="missing", show_default=True,
                 help="When to pull an image the engine does not have."),
    click.option("--host", "-H", metavar="URL",
                 help="Docker engine to ask (default: DOCKER_HOST, the current docker context, the local socket)."),
    click.option("--source", "source_kind", type=click.Choice(["engine", "registry"]), default=None,
                 help="Where a bare image NAME is read from (default: the engine if one answers, else its registry)."),
    click.option("--ca-cert", type=click.Path(exists=True, dir_okay=False), default=None,
                 help="Also trust the CA certificates in this PEM file for registries."),
    click.option("--insecure-registry", "insecure_registry", multiple=True, metavar="HOST[:PORT]",
                 help="Allow plain HTTP to this registry (loopback hosts always may); repeatable."),
    click.option("--verify", is_flag=True,
                 help="Check every blob and layer against its digest, even where that costs a read "
                      "(exit 3 on a mismatch)."),
    click.option("--no-cache", is_flag=True,
                 help="Neither read nor write the per-layer cache ($XDG_CACHE_HOME/inspect-image)."),
    click.option("--max-entries", type=click.IntRange(1), default=DEFAULT.max_entries, show_default=True,
                 help="Refuse images with more tar entries than this (bounds memory)."),
    click.option("--max-depth", type=click.IntRange(1), default=DEFAULT.max_depth, show_default=True,
                 help="Refuse member names deeper than this many directories."),
    click.option("--max-layers", type=click.IntRange(1), default=DEFAULT.max_layers, show_default=True,
                 help="Refuse images with more layers than this."),
    click.option("--max-ratio", type=click.IntRange(1), default=DEFAULT.max_ratio, show_default=True,
                 help="Refuse layers that inflate more than this many times (decompression bombs)."),
]


def source_options(func: Any) -> Any:
    """Add the shared options; the command receives them as one ``source: SourceArgs``."""

    @functools.wraps(func)
    def wrapper(*args: Any, platform: str | None, tag: str | None, digest: str | None, pull: str, host: str | None,
                verify: bool, no_cache: bool, max_entries: int, max_depth: int, max_layers: int, max_ratio: int,
                **kwargs: Any) -> Any:
        limits = Limits(max_entries=max_entries, max_depth=max_depth, max_layers=max_layers, max_ratio=max_ratio)
        source = SourceArgs(platform, tag, pull, host, verify, no_cache, limits, digest)
        source.source_kind = kwargs.pop("source_kind")
        source.registry = RegistryOptions(kwargs.pop("ca_cert"), tuple(kwargs.pop("insecure_registry")),
                                          progress=sys.stderr.isatty())
        return func(*args, source=source, **kwargs)

    for option in reversed(_SOURCE_OPTIONS):
        wrapper = option(wrapper)
    return wrapper


@click.group(cls=_DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]},
             epilog="\b\nExamples:\n"
                    "  inspect-image docker:app:1.0               # can it start? shells, Java\n"
                    "  inspect-image app.tar --executables        # setuid, capabilities, linkage\n"
                    "  inspect-image diff docker:app:jdk docker:app:slim  # what slim drops")
@click.version_option(__version__, prog_name="inspect-image")
def cli() -> None:
    """Show what is inside a container image without running it.

    \b
    inspect-image IMAGE [--bin|--executables|--jre|--config|--files [PATH]]
    inspect-image COMMAND [ARGS]...   (the commands are listed below)

    IMAGE is a docker-archive:PATH, oci-archive:PATH, oci:DIR, docker:NAME, a path (detected by its
    content; PATH:REPO:TAG picks one image of several), - for a docker save stream on stdin, or an
    image name for the Docker engine.
    """


@cli.command("inspect", epilog="\b\nExamples:\n"
             "  inspect-image docker:app:1.0               # can it start? shells, Java\n"
             "  inspect-image app.tar --jre --format json  # every Java runtime, as JSON\n"
             "  inspect-image oci:layout --files '/usr/lib/jvm/*/release'")
@click.argument("image")
@click.option("--files", "files", is_flag=False, flag_value="/", default=None, metavar="[PATH]",
              help="List the merged filesystem, or what ls -l PATH shows (PATH may be a pattern: "
                   "'/usr/lib/jvm/*/release', '/**/libjvm.so').")
@click.option("--bin", "show_bin", is_flag=True, help="The merged /bin, as ls -l shows it.")
@click.option("--executables", "show_executables", is_flag=True,
              help="Every executable: ELF or script, linkage, setuid/setgid, capabilities.")
@click.option("--jre", "show_jre", is_flag=True, help="Every Java runtime: vendor, version, JRE or JDK.")
@click.option("--config", "show_config", is_flag=True, help="The config, and whether the entrypoint can start.")
@click.option("--packages", "show_packages", is_flag=True,
              help="Installed packages (dpkg, apk, rpm), their files' integrity, and executables no package owns.")
@click.option("--layers", "show_layers", is_flag=True,
              help="Each layer: diff ID, size, entries added/changed/removed, and the step that made it.")
@click.option("--fail-on", "fail_on", multiple=True, metavar="RULE[,RULE...]",
              help="Exit 1 if one of these policy rules finds something (README, \"Policy\"): "
                   f"{', '.join(policy.RULES)}, or all.")
@click.option("--policy", "policy_file", metavar="FILE",
              help="A TOML policy file: the rules to enforce (fail-on) and allow-listed path globs per rule.")
@_JOBS_OPTION
@_format_options
@source_options
def inspect_command(image: str, files: str | None, show_bin: bool, show_executables: bool, show_jre: bool,
                    show_config: bool, show_packages: bool, show_layers: bool, fail_on: tuple[str, ...],
                    policy_file: str | None, jobs: int | None, fmt: str, as_json: bool, source: SourceArgs) -> None:
    """Inspect IMAGE: a summary, or one view of it.

    The summary says whether the entrypoint can start, which shells, package managers and Java
    runtimes the image holds, and what /bin holds; each option below shows one view in full.
    Nothing in the image is executed."""
    from . import reports
    from .fs import build_filesystem
    from .fs.cache import BARE, CacheUse
    from .fs.select import listing, select_entries
    from .output import renderer

    views = [name for name, on in (("--files", files is not None), ("--bin", show_bin),
                                   ("--executables", show_executables), ("--jre", show_jre),
                                   ("--config", show_config), ("--packages", show_packages),
                                   ("--layers", show_layers)) if on]
    if len(views) > 1:
        raise click.UsageError(f"choose one view, not {' and '.join(views)}")
    fmt = "json" if as_json else fmt
    rules = policy.load_policy(policy_file, fail_on) if policy_file is not None or fail_on else None
    if rules is not None and show_layers:
        raise click.UsageError("--fail-on and --policy read the image's files: not with --layers")
    if fmt == "html" and (views or rules is not None):  # the page is the summary's (README, "HTML report")
        raise click.UsageError(f"--format html is a page for the whole image, not with {(views or ['--fail-on'])[0]}: "
                               "use --format table or json")
    out = _stdout()
    store = source.cache()
    with source.open(image, store) as img:
        if fmt == "html":
            from .output import html as html_output
            from .reports import page as page_reports

            page = page_reports.image_page(img, source.limits, store)
            _warn(img.meta.notes + page.warnings)
            html_output.write_image(page, out)
            return
        if show_layers:
            from .output import package_tables
            from .reports import layers as layer_reports

            rows, warnings = layer_reports.layer_rows(img, source.limits)
            _warn(img.meta.notes + warnings)
            _emit(rows, fmt == "json", package_tables.layers, out)
            return
        if files is not None and fmt != "json" and rules is None:  # no file contents needed: skip the probes
            use = CacheUse(store, BARE, richer=(reports.FACTS_CODEC,)) if store else None
            merged = build_filesystem(img, limits=source.limits, cache=use, helpers=_helpers(jobs))
            _warn(img.meta.notes + merged.warnings)
            renderer(fmt).files_from(*listing(merged, files), out, _jobs(jobs))
            return
        summary_kept = None  # the summary, kept the same way
        if not views and files is None and rules is None and store is not None:
            from .reports import report_cache

            summary_kept = report_cache.lookup(img, source.limits, store, reports.FACTS_VARIANT,
                                               report_cache.SUMMARY)
            if summary_kept.report is not None:
                _warn(img.meta.notes + summary_kept.warnings)
                _emit(summary_kept.report, fmt == "json", _summary_table, out)
                return
        want_packages = show_packages or (rules is not None and policy.needs_packages(rules))
        kept = None  # the report cache (README, "The cache"): only what the layer cache vouches for
        if show_packages and rules is None and store is not None:
            from .reports import report_cache

            kept = report_cache.lookup(img, source.limits, store, reports.FACTS_VARIANT)
            if kept.report is not None:
                _warn(img.meta.notes + kept.warnings + kept.report["warnings"])
                _emit(kept.report, fmt == "json", _packages_table, out)
                return
        from .reports import packages as package_reports

        if want_packages:  # integrity hands layers out again: hash them as they pass now, not in a re-read
            img.verification.hash_layers = True
        if files is not None and rules is None:  # JSON: each file's package, none of the executables' facts
            from .reports.facts import TEXTS_CODEC, texts_probe

            use = CacheUse(store, TEXTS_CODEC, richer=(reports.FACTS_CODEC,)) if store else None
            inspection = reports.inspect_image(img, source.limits, use, content_probe=texts_probe,
                                               helpers=_helpers(jobs))
        elif want_packages:  # + the packaged files' digests, as the layers pass
            inspection = package_reports.inspect_image(img, source.limits,
                                                       CacheUse(store, reports.FACTS_CODEC) if store else None)
        else:
            inspection = reports.inspect_image(img, source.limits,
                                               CacheUse(store, reports.FACTS_CODEC) if store else None,
                                               helpers=_helpers(jobs))
        report = None
        if want_packages:  # integrity may read some layers again: while the image is open
            report = package_reports.packages_report(img, inspection, store.directory if store else None)
            if kept is not None and store is not None:
                report_cache.keep(img, kept, store, report, inspection.fs.warnings)
        findings = policy.evaluate(inspection, report, rules) if rules is not None else None
        if show_packages and report is not None:
            _warn(img.meta.notes + inspection.fs.warnings + report["warnings"])
            _emit(report, fmt == "json", _packages_table, out, findings)
            _policy_exit(findings)
            return
    _warn(img.meta.notes + inspection.fs.warnings)
    if files is not None and fmt == "json":  # each entry with its package and build step (README, "--files")
        renderer(fmt).files_from(*package_reports.owned_listing(inspection, files), out, _jobs(jobs))
    elif files is not None:  # a policy was given: the image was read with its contents, list it all the same
        renderer(fmt).files(select_entries(inspection.fs, files), out)
    elif views:
        _render_view(views[0], inspection, fmt, out, findings)
    else:
        from .reports.summary import summary

        data = summary(inspection)
        warnings = inspection.fs.warnings
        del inspection  # the tree: a million files' worth, no longer needed to write the summary
        if summary_kept is not None and store is not None:
            report_cache.keep(img, summary_kept, store, data, warnings, report_cache.SUMMARY)
        _emit(data, fmt == "json", _summary_table, out, findings)
    _policy_exit(findings)


def _helpers(jobs: int | None) -> HelperStart | None:
    """What starts helper processes for an image on disk (``parallel``), or None: one process."""
    from .parallel import starter

    return starter(_jobs(jobs))


def _jobs(jobs: int | None) -> int:
    """``--jobs``, or the CPUs this process may use."""
    from .parallel.cpus import default_jobs

    return jobs or default_jobs()


@cli.command("diff", epilog="\b\nExamples:\n"
             "  inspect-image diff docker:app:jdk docker:app:distroless\n"
             "  inspect-image diff a.tar b.tar --all --path /usr --ignore '/usr/share/**'\n"
             "  inspect-image diff a.tar b.tar --exit-code --format json > changes.json")
@click.argument("image_a")
@click.argument("image_b")
@click.option("--all", "all_entries", is_flag=True, help="Compare every entry, not only executables.")
@click.option("--path", "prefix", default="/", metavar="PREFIX", help="Only compare entries under PREFIX.")
@click.option("--ignore", "ignore", multiple=True, metavar="GLOB",
              help="Leave out paths matching GLOB (repeatable), e.g. '/usr/share/doc/**'.")
@click.option("--exit-code", "exit_code", is_flag=True, help="Exit 1 when the images differ, 0 when not.")
@_JOBS_OPTION
@_format_options
@source_options
def diff_command(image_a: str, image_b: str, all_entries: bool, prefix: str, ignore: tuple[str, ...],
                 exit_code: bool, jobs: int | None, fmt: str, as_json: bool, source: SourceArgs) -> None:
    """Compare two images: executables (or --all entries), config, and a summary per category.

    The table answers first: size, layers, platform, user, entrypoint, Java runtimes, shells, package
    managers, setuid/setgid files and counts, A → B; then the lists. In them, "-" is in IMAGE_A
    only (removed), "+" in IMAGE_B only (added), "~" in both but changed (content, mode, owner, type,
    link target or ELF kind). Links show "-> target"; the mode's first letter is the type, as in ls -l.
    """
    from . import reports
    from .output import diff_tables

    fmt = "json" if as_json else fmt
    options = reports.DiffOptions(all_entries=all_entries, prefix=prefix, ignore=ignore)
    store = source.cache()
    if fmt == "html":  # the diff as one page (README, "HTML report")
        from .output import html as html_output
        from .reports import page as page_reports

        with source.open(image_a, store) as first, source.open(image_b, store) as second:
            diff_page = page_reports.diff_page(first, second, options, source.limits, store)
        html_output.write_diff(diff_page, _stdout())
        if exit_code and diff_page.different:
            sys.exit(EXIT_DIFFERENT)
        return
    with source.open(image_a, store) as first, source.open(image_b, store) as second:
        result = reports.diff_images(first, second, options, source.limits, store, _helpers(jobs))
    _emit(result.to_json(), fmt == "json", diff_tables.diff, _stdout())
    if exit_code and result.different:
        sys.exit(EXIT_DIFFERENT)


@cli.command("sbom", epilog="\b\nExamples:\n"
             "  inspect-image sbom docker:app:1.0 -o app.cdx.json\n"
             "  inspect-image sbom app.tar --format spdx-json --files | jq .packages")
@click.argument("image")
@click.option("--format", "fmt", type=click.Choice(["cyclonedx-json", "spdx-json"]), default="cyclonedx-json",
              show_default=True, help="CycloneDX 1.6 or SPDX 2.3, as JSON.")
@click.option("--files", "with_files", is_flag=True,
              help="Also list every executable (unowned and modified files are always listed).")
@click.option("-o", "--output", "output", metavar="FILE", help="Write the document to FILE (- or none: stdout).")
@_JOBS_OPTION
@source_options
def sbom_command(image: str, fmt: str, with_files: bool, output: str | None, jobs: int | None,
                 source: SourceArgs) -> None:
    """A software bill of materials for IMAGE: the OS, packages, Java runtimes, and the files no package
    owns or whose bytes differ from what their package recorded."""
    from . import sbom

    store = source.cache()
    with source.open(image, store) as img:
        bom, warnings = sbom.build(img, fmt, with_files, source.limits, store, _helpers(jobs))
    _warn(img.meta.notes + warnings)
    if output and output != "-":
        sbom.write_file(bom, output)
    else:
        sbom.write(bom, _stdout())


@cli.command("cat", epilog="\b\nExamples:\n"
             "  inspect-image cat docker:app:1.0 /etc/os-release\n"
             "  inspect-image cat app.tar /usr/lib/jvm/temurin_jre_amd64/release")
@click.argument("image")
@click.argument("path")
@source_options
def cat_command(image: str, path: str, source: SourceArgs) -> None:
    """Write the content of PATH in IMAGE to stdout (symlinks followed inside the image only)."""
    from . import export

    with source.open(image, source.cache()) as img:
        out = stdout_bytes()
        export.cat_file(img, path, out, source.limits)
        out.flush()


@cli.command("export", epilog="\b\nExamples:\n"
             "  inspect-image export docker:app:1.0 ./rootfs\n"
             "  inspect-image export app.tar app-etc.tar --path /etc\n"
             "  inspect-image export app.tar - | tar -t | head")
@click.argument("image")
@click.argument("dest")
@click.option("--path", "prefix", default="/", metavar="PATH", help="Export only this subtree.")
@click.option("--devices", is_flag=True, help="Create device nodes too (needs root); skipped by default.")
@click.option("--special-bits", is_flag=True, help="Keep setuid/setgid bits on exported files.")
@source_options
def export_command(image: str, dest: str, prefix: str, devices: bool, special_bits: bool,
                   source: SourceArgs) -> None:
    """Write the merged tree of IMAGE (or --path) to DEST: a new or empty directory, a .tar file, or - for
    a tar on stdout. Never writes outside DEST and never follows a link it created."""
    from . import export

    with source.open(image, source.cache()) as img:
        if dest == "-" or dest.endswith(".tar"):
            with (export.open_tar_dest(dest) if dest != "-" else contextlib.nullcontext(stdout_bytes())) as out:
                stats = export.export_tree(img, export.TarWriter(out), prefix, source.limits)
        else:
            writer = export.DirWriter(dest, devices=devices, special_bits=special_bits)
            stats = export.export_tree(img, writer, prefix, source.limits)
            if writer.skipped_devices:
                say(f"inspect-image: note: {writer.skipped_devices} device nodes not created (use --devices as root)")
    _warn(stats.warnings)
    if dest != "-":
        say(f"exported {stats.entries} entries ({stats.files} files, {stats.bytes:,} bytes) to {escape(dest, None)}")


def _render_view(view: str, inspection: reports.Inspection, fmt: str, out: Any,
                 findings: list[policy.Finding] | None = None) -> None:
    """One view of the inspection: --bin, --executables, --jre or --config (the summary is the caller's)."""
    from . import reports
    from .output import renderer, report_tables
    from .reports import packages as package_reports

    as_json = fmt == "json"
    if view == "--bin":
        listing = reports.bin_listing(inspection)
        if as_json:
            renderer("json").files(listing.entries, out)
        else:
            report_tables.bin_listing(listing.to_json(), listing.entries, out)
    elif view == "--executables":  # one executable's JSON at a time (90,000 of a million-file image)
        items = (package_reports.with_ownership(inspection, e.to_json()) for e in reports.find_executables(inspection))
        if as_json:
            from .output.json_format import write_array

            write_array(items, out)
        else:
            report_tables.executables(items, out)
    elif view == "--jre":
        runtimes = [r.to_json() for r in reports.find_runtimes(inspection)]
        _emit(runtimes, as_json, report_tables.jre_details, out)
    else:  # --config
        data = {"config": reports.config_fields(inspection),
                "entrypoint": reports.resolve_entrypoint(inspection).to_json()}
        table = functools.partial(report_tables.config, user_name=reports.user_name(inspection))
        _emit(data, as_json, table, out, findings)


def _packages_table(data: dict[str, Any], out: Any) -> None:
    from .output import package_tables

    package_tables.packages(data, out)


def _summary_table(data: dict[str, Any], out: Any) -> None:
    """The summary's table; its renderer (and the readers it names versions with) imported only for it."""
    from .output import report_tables

    report_tables.summary(data, out)


def _emit(data: Any, as_json: bool, table: Any, out: Any, findings: list[policy.Finding] | None = None) -> None:
    if as_json:
        from .output.json_format import write_document

        write_document(data if findings is None else policy.attach(data, findings), out)
    else:
        table(data, out)


def _policy_exit(findings: list[policy.Finding] | None) -> None:
    """After the view: one escaped stderr line per finding, and exit 1 if there is any (README, "Policy")."""
    if findings:
        _flush_outputs()  # the view first, then the findings, on a terminal too
        for line in policy.finding_lines(findings):
            say(line)
        sys.exit(policy.EXIT_FINDINGS)


class StdoutClosed(BaseException):
    """Whoever read our stdout went away (``| head``): their choice, not an error, so exit 0 quietly.

    A BaseException on purpose: it passes every ``except Exception`` on its way up, so no layer
    reader can wrap it as "cannot read layer" and no closed pipe is ever reported as a broken image.
    """


class _StdoutRaw(io.RawIOBase):
    """File descriptor 1, telling a closed reader (EPIPE) apart from a real write error."""

    def __init__(self) -> None:
        super().__init__()
        # An embedding program (or a test) that replaced sys.stdout gets our output there.
        self._target: IO[bytes] | None = None if sys.stdout is sys.__stdout__ \
            else getattr(sys.stdout, "buffer", None)

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return 1

    def write(self, data: bytes | bytearray | memoryview, /) -> int:  # type: ignore[override]
        try:
            if self._target is not None:
                self._target.write(data)
                self._target.flush()
                return len(data)
            return os.write(1, data)
        except BrokenPipeError:
            # Later writes (a flush at exit, a tar stream's finaliser) go nowhere, silently.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.close(devnull)
            raise StdoutClosed() from None
        except OSError as exc:  # ENOSPC, EIO: the user must know the output is incomplete
            raise InspectorError(f"cannot write to standard output: {exc.strerror or exc}") from None


_OUTPUTS: list[IO[Any]] = []


def stdout_bytes() -> IO[bytes]:
    """Buffered binary stdout whose write errors are ours to report (see ``_StdoutRaw``)."""
    stream: IO[bytes] = io.BufferedWriter(_StdoutRaw(), buffer_size=1 << 16)  # type: ignore[type-var]
    _OUTPUTS.append(stream)
    return stream


def _stdout() -> Any:
    """Block-buffered UTF-8 stdout. Names that are not valid UTF-8 reach us surrogate-escaped; written
    as ``\\udcXX`` they stay valid JSON escapes instead of failing to encode."""
    stream = io.TextIOWrapper(stdout_bytes(), encoding="utf-8", errors="backslashreplace",
                              write_through=False)
    _OUTPUTS.append(stream)
    return stream


def _flush_outputs() -> None:
    """Flush text wrappers, then the byte streams below them; the first failure is raised. They stay
    open (closing them closes nothing real): a tar stream's finaliser may still write to one."""
    for stream in reversed(_OUTPUTS):
        stream.flush()


#: Warnings printed before "… and N more": a hostile image can cause one per entry.
MAX_WARNINGS = 100


def _warn(warnings: list[str]) -> None:
    for warning in warnings[:MAX_WARNINGS]:
        say(f"inspect-image: warning: {escape(warning)}")
    if len(warnings) > MAX_WARNINGS:
        say(f"inspect-image: warning: … and {len(warnings) - MAX_WARNINGS:,} more warnings")


def say(line: str) -> None:
    """One line on stderr. Callers escape what came from the image (``output.escape``)."""
    click.echo(line, err=True)


def main(argv: list[str] | None = None) -> None:
    """Entry point: every failure becomes one line on stderr and a documented exit code."""
    try:
        try:
            cli.main(args=argv, prog_name="inspect-image", standalone_mode=False)
        except BaseException:
            with contextlib.suppress(StdoutClosed, InspectorError):  # the first failure is the one to tell
                _flush_outputs()
            raise
        _flush_outputs()
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except StdoutClosed:
        pass  # exit outside this block: the traceback, and the writers its frames hold, are freed first
    except InspectorError as exc:
        _fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # a bug: still no traceback unless asked for
        if os.environ.get("INSPECTOR_DEBUG"):
            raise
        _fail(f"internal error ({type(exc).__name__}: {exc}); rerun with INSPECTOR_DEBUG=1 for details",
              EXIT_BAD_INPUT)
    sys.exit(EXIT_OK)


#: Characters of an error line: a message may quote what the image holds (a list of its tags).
MAX_ERROR = 4096


def _fail(message: str, code: int) -> None:
    """The one error line: every character the image chose in it is escaped, so it stays one line."""
    say(f"inspect-image: error: {escape(message.strip(), MAX_ERROR)}")
    sys.exit(code)

"""The audit's three tasks, run by a process pool or a Dask worker: module-level functions with
picklable arguments and results, each opening the image itself (workers share no open files).

1. ``read_image``: the manifest and config only (kilobytes): the layers' diff IDs and stored forms.
2. ``scan_layer``: one layer, scanned into the per-layer cache, unless an entry already answers
   for it in this form. The entry is written only after the layer's bytes matched its diff ID in
   this run (``CacheUse.remember``), so the merge phase reuses nothing it could not reuse anyway.
3. ``audit_image``: the whole report of one image, every layer answered from the cache by the same
   checks as ``inspect-image IMAGE`` (``CacheUse.answer``: blob present, in a recorded form); a
   layer the cache cannot vouch for is simply read again here.

Every failure is returned, never raised: one bad image is one error line and the audit goes on.
"""

from __future__ import annotations

import gc
import re
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from .. import reports
from ..errors import InspectorError
from ..fs import LayerScanner, LayerTree, Node
from ..fs.cache import CacheUse, DecodedTrees, LayerCache
from ..fs.node import FILE
from ..limits import Limits
from ..packages.prehash import ALL as ALGORITHMS
from ..packages.prehash import Prehash
from ..policy import RULES, Finding, Policy, evaluate
from ..reports import packages as package_reports
from ..reports.facts import probe
from ..reports.history import layer_created_by
from ..reports.integrity import DigestStore
from ..reports.summary import summary as summary_json
from ..sources.interface import Image
from ..sources.reference import parse
from .ndjson import dumps_line

#: Findings of one rule kept in one image's line (a hostile image may hold a million setuid files).
MAX_FINDINGS_PER_RULE = 1000
#: Sources whose layers can be read one at a time (the engine's ``docker save`` hands out all or none).
_LAYERWISE = frozenset({"docker-archive", "oci", "oci-archive", "archive", "registry"})


class Opener(Protocol):
    """What opens an image in a worker: ``cli.SourceArgs`` (picklable: plain options)."""

    limits: Limits
    verify: bool

    def open(self, image: str, cache: LayerCache | None) -> Image: ...


@dataclass(frozen=True)
class Settings:
    """Everything a task needs besides the reference; sent to every worker."""

    source: Opener
    use_cache: bool  # False: --no-cache or --verify (nothing shared, every layer read)
    policy: Policy = field(default_factory=Policy)

    def cache(self) -> LayerCache | None:
        """The worker's own cache directory ($XDG_CACHE_HOME there): on a cluster, the shared volume.
        Trees decoded from it stay in the worker's memory for the next image on the same base."""
        return LayerCache(decoded=_DECODED) if self.use_cache else None


#: This worker process's decoded layer trees (``fs.cache.DecodedTrees``): a fleet is mostly shared
#: bases, and decoding a base's entries again for every image was a quarter of the per-image phase.
#: Bounded to about 120 MB of nodes.
_DECODED = DecodedTrees(max_nodes=400_000)


@dataclass(frozen=True)
class Layer:
    index: int
    diff_id: str | None
    size: int | None  # stored bytes, as the manifest claims: only to start the big layers first


@dataclass(frozen=True)
class Plan:
    """Phase 1's answer for one image."""

    reference: str
    manifest_digest: str | None
    layers: tuple[Layer, ...] = ()
    layerwise: bool = False  # its layers can be scanned one by one (phase 2)
    error: str | None = None
    exit_code: int = 0


@dataclass(frozen=True)
class LayerOutcome:
    diff_id: str
    scanned: bool  # False: the cache already answered for it (or it failed: see error)
    seconds: float = 0.0
    error: str | None = None


@dataclass(frozen=True)
class Outcome:
    """Phase 3's answer: the line to write, and what the final table counts."""

    reference: str
    manifest_digest: str | None
    line: str
    failed: bool = False
    exit_code: int = 0
    findings: tuple[tuple[str, int], ...] = ()  # (rule, count) over every rule evaluated


def read_image(reference: str, settings: Settings) -> Plan:
    try:
        if _from_the_engine(reference, settings):  # its metadata would cost a whole `docker save` now
            return Plan(reference, None)
        with settings.source.open(reference, settings.cache()) as image:
            meta = image.meta
            declared = image.known_diff_ids()
            layers = tuple(Layer(info.index, info.diff_id, info.size) for info in meta.layers)
            return Plan(reference, meta.manifest_digest, layers,
                        layerwise=declared is not None and meta.source in _LAYERWISE)
    except InspectorError as exc:
        return Plan(reference, None, error=str(exc), exit_code=exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - a bug on one image must not end the audit
        return Plan(reference, None, error=_internal(exc), exit_code=2)


def scan_layer(reference: str, index: int, settings: Settings) -> LayerOutcome:
    """Scan layer ``index`` of ``reference`` into the cache, unless an entry answers for it already."""
    started = time.perf_counter()
    store = settings.cache()
    diff_id = ""
    try:
        assert store is not None, "phase 2 runs only with a cache"
        with settings.source.open(reference, store) as image:
            info = image.meta.layers[index]
            diff_id = info.diff_id or ""
            use = CacheUse(store, reports.FACTS_CODEC)
            entry = store.entry(diff_id, reports.FACTS_CODEC.name) if diff_id else None
            form = None if image.diff_ids_vouched else image.stored_form(info)
            if entry is not None and (image.diff_ids_vouched or (form is not None and tuple(form) in entry.forms)):
                return LayerOutcome(diff_id, False)  # an entry answers for this very blob: nothing to read
            if use.answer(image, info, 0, settings.source.limits) is not None:  # records the entry's forms
                return LayerOutcome(diff_id, False)
            image.verification.hash_layers = True
            prehash = Prehash(probe)  # the packaged files' digests, as the bytes pass (see _keep_digests)
            prehash.algorithms = _installer_hint(image, index)
            try:
                scanner = LayerScanner(prehash.probe, settings.source.limits)
                for got, tree in image.scan_layers(scanner, skip=lambda other: other.index != index):
                    if tree is not None:
                        use.remember(image, got, tree)  # only if its bytes matched the diff ID just now
                        if got.index in image.verification.verified:
                            _keep_digests(store, diff_id, tree, prehash)
                        break
            finally:
                prehash.close()
        return LayerOutcome(diff_id, True, time.perf_counter() - started)
    except InspectorError as exc:  # phase 3 reads the layer again and reports it for its image
        return LayerOutcome(diff_id, False, time.perf_counter() - started, str(exc))
    except Exception as exc:  # noqa: BLE001
        return LayerOutcome(diff_id, False, time.perf_counter() - started, _internal(exc))


#: What a build step that installs packages says in its history, and the digest that manager records.
#: Scanned alone, a layer that installs packages names /var/lib/dpkg only at its end (tar order:
#: /etc, /usr, /var), after the files it would have hashed: the step's command is the earlier hint.
_INSTALLERS = ((re.compile(r"\b(?:apt-get|apt|dpkg)\b"), "md5"), (re.compile(r"\bapk\b"), "sha1"),
               (re.compile(r"\b(?:dnf|microdnf|tdnf|yum|rpm|zypper)\b"), "sha256"))


def _installer_hint(image: Image, index: int) -> tuple[str, ...] | None:
    """The algorithms the build step of layer ``index`` suggests (None: the scan's own hints decide).
    A guess, bounded to 4 KiB of the step's text: a wrong one costs a second read, never a digest."""
    created = layer_created_by(image.meta.config, len(image.meta.layers))
    text = (created[index] or "")[:4096] if 0 <= index < len(created) else ""
    found = tuple(algorithm for pattern, algorithm in _INSTALLERS if pattern.search(text))
    return found or None


def _keep_digests(store: LayerCache, diff_id: str, tree: LayerTree, prehash: Prehash) -> None:
    """The digests this scan took of the layer's files, into the per-layer digest store that
    integrity reads (``reports.integrity.DigestStore``, keyed by each file's path in its layer):
    else the first image of each base would read its layers a second time in phase 3 to hash its
    packaged files. Called only once the layer's bytes matched its diff ID in this run; a file this
    scan did not hash (another algorithm, a hint seen too late) is simply read again there."""
    prehash.observe(tree, None)  # hardlinks of the layer take their inode's digests
    found: dict[str, dict[str, str]] = {}
    stack: list[tuple[str, Node]] = [("", tree.root)]
    while stack:
        path, node = stack.pop()
        for name, child in (node.children or {}).items():
            where = f"{path}/{name}"
            if child.kind == FILE:
                digests = {a: d for a in ALGORITHMS if (d := prehash.digest(child, a)) is not None}
                if digests:
                    found[where] = digests
            elif child.children is not None:
                stack.append((where, child))
    if found:
        DigestStore(store.directory).add(diff_id, found)


def audit_image(reference: str, settings: Settings) -> Outcome:
    """The line of one image: reference, manifest digest, summary, packages, findings."""
    store = settings.cache()
    digest: str | None = None
    try:
        with settings.source.open(reference, store) as image:
            if not _from_the_engine(reference, settings):  # known before any layer is read: the error line has it
                digest = image.meta.manifest_digest
            image.verification.hash_layers = True  # integrity hands layers out again: hash them as they pass
            # packaged files are hashed as the layers pass (packages.prehash): no second read for integrity
            inspection = package_reports.inspect_image(image, settings.source.limits,
                                               CacheUse(store, reports.FACTS_CODEC) if store else None)
            digest = image.meta.manifest_digest  # after the scan: a one-pass source knows it only then
            packages = package_reports.packages_report(image, inspection, store.directory if store else None)
        summary = summary_json(inspection)
        every_rule = Policy(frozenset(RULES), settings.policy.allow)  # report all; the exit code counts enabled ones
        findings, truncated = _bounded(evaluate(inspection, packages, every_rule))
        counts: dict[str, int] = {}
        for finding in findings:
            counts[finding.rule] = counts.get(finding.rule, 0) + 1
        for rule, more in truncated.items():
            counts[rule] = counts.get(rule, 0) + more
        line: dict[str, Any] = {
            "reference": reference,
            "manifest_digest": digest,
            "summary": summary,
            "packages": packages,
            "findings": [f.to_json() for f in findings],
        }
        if truncated:
            line["findings_truncated"] = truncated
        return Outcome(reference, digest, dumps_line(line), findings=tuple(sorted(counts.items())))
    except InspectorError as exc:
        return failure(reference, digest, str(exc), exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - one image's bug is its error line, not the audit's end
        return failure(reference, digest, _internal(exc), 2)
    finally:
        gc.unfreeze()  # this image's tree, if the command line froze it (``fs.collector``): the next one's turn


def error_outcome(plan: Plan) -> Outcome:
    return failure(plan.reference, plan.manifest_digest, plan.error or "unreadable", plan.exit_code or 2)


def failure(reference: str, digest: str | None, message: str, exit_code: int) -> Outcome:
    """The error line of one image (also a listing that failed before any image was known)."""
    line = {"reference": reference, "manifest_digest": digest, "error": message, "exit_code": exit_code}
    return Outcome(reference, digest, dumps_line(line), failed=True, exit_code=exit_code)


def _bounded(findings: list[Finding]) -> tuple[list[Finding], dict[str, int]]:
    kept: list[Finding] = []
    per_rule: dict[str, int] = {}
    truncated: dict[str, int] = {}
    for finding in findings:
        seen = per_rule[finding.rule] = per_rule.get(finding.rule, 0) + 1
        if seen <= MAX_FINDINGS_PER_RULE:
            kept.append(finding)
        else:
            truncated[finding.rule] = truncated.get(finding.rule, 0) + 1
    return kept, truncated


def _from_the_engine(reference: str, settings: Settings) -> bool:
    """An engine image (``docker:NAME``, or a bare name not sent to a registry by --source): read
    whole by its own phase-3 task; the engine hashed its layers, so the cache still answers there."""
    try:
        transport = parse(reference).transport
    except InspectorError:
        return False  # opening it reports the problem
    return transport == "docker" and getattr(settings.source, "source_kind", None) != "registry"


def _internal(exc: BaseException) -> str:
    return f"internal error ({type(exc).__name__}: {exc}); rerun this image with INSPECTOR_DEBUG=1 for details"

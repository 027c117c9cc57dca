"""Cards: a few facts each, answering one question at a glance (can it start? who runs it? which Java?).

A card is a title and ``(term, value)`` pairs; values are ``Html`` (built here, escaped) or plain
values, which are escaped. Lists from the image (env, argv, shells) are cut to ``MAX_ITEMS``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..human import size as human_size
from .page import text

#: Items of one list shown in a card (argv, shells, runtimes, env) before "… and N more".
MAX_ITEMS = 50


class Html(str):
    """Markup built from escaped parts: a card shows it as it is."""


def card(title: str, rows: Sequence[tuple[str, Any]], kind: str = "", wide: bool = False) -> str:
    body = "".join(f"<dt>{text(term)}</dt><dd>{value if isinstance(value, Html) else plain(value)}</dd>"
                   for term, value in rows)
    marker = f" data-card=\"{text(kind)}\"" if kind else ""
    return f"<div class=\"{'card wide' if wide else 'card'}\"{marker}><h3>{text(title)}</h3><dl>{body}</dl></div>"


def plain(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return text(", ".join(str(v) for v in value[:MAX_ITEMS]) + _more(len(value)), 2000)
    return text(value, 1000)


def _more(count: int) -> str:
    return f" … and {count - MAX_ITEMS:,} more" if count > MAX_ITEMS else ""


def flag(ok: bool, good: str, bad: str) -> Html:
    return Html(f"<span class=\"good\">{text(good)}</span>" if ok else f"<span class=\"bad\">{text(bad)}</span>")


def argv(values: Any) -> Html:
    """An argv as one ``<code>`` per argument, so spaces and empty arguments stay visible."""
    if not isinstance(values, list) or not values:
        return Html("-")
    items = "".join(f"<code>{text(v, 500)}</code>" for v in values[:MAX_ITEMS])
    return Html(f"<span class=\"argv\">{items}{text(_more(len(values)))}</span>")


def lines(values: Sequence[Any], limit: int = MAX_ITEMS) -> Html:
    if not values:
        return Html("-")
    shown = "<br>".join(text(v, 300) for v in values[:limit])
    more = f"<br>… and {len(values) - limit:,} more" if len(values) > limit else ""
    return Html(shown + more)


def image_cards(summary: dict[str, Any], packages: dict[str, Any] | None, wasted_total: int) -> str:
    image, config, entry = summary["image"], summary["config"], summary["entrypoint"]
    problems = entry.get("problems") or []
    shells = summary.get("shells") or []
    user = config.get("user") or "0 (root, by default)"
    if summary.get("user_name"):
        user = f"{user} ({summary['user_name']})"
    cards = [card("Verdict", [
        ("can start", flag(not problems, "yes", "no")),
        ("problems", lines(problems)),
        ("shell-less", flag(bool(summary.get("shell_less")), "yes: no shell found", "no: has a shell")),
        ("shells", shells),
        ("package managers", summary.get("package_managers") or []),
        ("user", user),
        ("entrypoint", argv(entry.get("argv"))),
        ("resolves to", entry.get("path")),
    ], "verdict")]
    platform = "/".join(p for p in (image.get("os"), image.get("architecture"), image.get("variant")) if p)
    size = image.get("size") or 0
    cards.append(card("Image", [
        ("reference", image.get("reference")), ("id", image.get("id")), ("tags", image.get("repo_tags") or []),
        ("platform", platform), ("created", image.get("created")),
        ("size", f"{human_size(size)} ({size:,} bytes) in {image.get('layers')} layers"),
        ("entries", f"{image.get('entries', 0):,}"),
        ("wasted", f"{human_size(wasted_total)} ({wasted_total:,} bytes, {_share(wasted_total, size)})"),
    ], "image"))
    runtimes = summary.get("jre") or []
    java_rows: list[tuple[str, Any]] = [
        (str(r.get("home")), f"{r.get('distribution') or r.get('vendor') or '?'} "
                             f"{r.get('runtime_version') or r.get('version') or '?'} {r.get('type') or ''}")
        for r in runtimes[:MAX_ITEMS]]
    cards.append(card("Java runtimes", java_rows or [("runtimes", "none found")], "java"))
    counts = summary.get("executables") or {}
    cards.append(card("Executables", [(key.replace("_", " "), counts.get(key)) for key in
                                      ("count", "elf", "scripts", "setuid", "setgid", "capabilities", "symlinks")]
                      + [("unowned", len(summary.get("unowned_executables") or []))], "executables"))
    by_manager = summary.get("packages")
    if by_manager:
        os_info = summary.get("os") or {}
        rows: list[tuple[str, Any]] = [("os", os_info.get("pretty_name") or os_info.get("id"))]
        rows += [(str(manager), number) for manager, number in by_manager.items()]
        integrity = (packages or {}).get("integrity") or {}
        if integrity.get("available"):
            modified, missing = len(integrity.get("modified") or []), len(integrity.get("missing") or [])
            rows.append(("integrity", flag(not modified and not missing, f"{integrity.get('ok', 0):,} files ok",
                                           f"{modified:,} modified, {missing:,} missing")))
            rows.append(("config changed", len(integrity.get("config_changed") or [])))
        elif integrity:
            rows.append(("integrity", integrity.get("note") or "unavailable"))
        cards.append(card("Packages", rows, "packages"))
    return "<div class=\"cards\">" + "".join(cards) + "</div>"


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}% of the image" if whole else "-"


def diff_cards(diff: dict[str, Any], all_entries: bool = False) -> str:
    """The diff's summary block as cards: what changed in files, in the config, in the images' make-up."""
    summary = diff.get("summary") or {}
    cards = [card("Entries" if all_entries else "Executables", [
        ("added", Html(f"<span class=\"good\">+{summary.get('added', 0):,}</span>")),
        ("removed", Html(f"<span class=\"bad\">-{summary.get('removed', 0):,}</span>")),
        ("changed", Html(f"<span class=\"warn\">~{summary.get('changed', 0):,}</span>")),
    ], "counts")]
    pairs: list[tuple[str, Any]] = []
    for key in ("size", "layers", "platform", "user", "entrypoint", "can_start"):
        value = summary.get(key)
        if isinstance(value, dict) and "a" in value:
            pairs.append((key.replace("_", " "), Html(_a_to_b(key, value))))
    if pairs:
        cards.append(card("A → B", pairs, "images"))
    deltas: list[tuple[str, Any]] = []
    for key in ("shells", "package_managers", "setuid", "setgid", "jdk_tools", "packages"):
        value = summary.get(key)
        if isinstance(value, dict):
            deltas.append((key.replace("_", " "), Html(_delta(value))))
    if deltas:
        cards.append(card("Added and removed", deltas, "deltas", wide=True))
    config = diff.get("config") or {}
    cards.append(card("Config", [(str(k), Html(_a_to_b(str(k), v))) for k, v in config.items()][:MAX_ITEMS]
                      or [("config", "no differences")], "config"))
    java = summary.get("java")
    if isinstance(java, dict):
        def names(runtimes: Any) -> list[str]:
            return [f"{r.get('distribution') or r.get('vendor')} {r.get('version')} {r.get('type')}"
                    for r in runtimes if isinstance(r, dict)] if isinstance(runtimes, list) else []
        cards.append(card("Java runtimes", [("A", names(java.get("a"))), ("B", names(java.get("b")))], "java"))
    return "<div class=\"cards\">" + "".join(cards) + "</div>"


def _a_to_b(key: str, value: dict[str, Any]) -> str:
    a, b = value.get("a"), value.get("b")
    if key == "size" and isinstance(a, int) and isinstance(b, int):
        change = b - a
        kind = "good" if change <= 0 else "bad"
        return (f"{human_size(a)} → {human_size(b)} <span class=\"{kind}\">"
                f"({'+' if change > 0 else '-'}{human_size(abs(change))})</span>")
    if isinstance(a, dict) or isinstance(b, dict):  # labels: one k=v per line
        def pairs(side: Any) -> str:
            return lines([f"{k}={v}" for k, v in side.items()]) if isinstance(side, dict) and side else plain(side)
        return f"{pairs(a)}<br>→<br>{pairs(b)}"
    if isinstance(a, list) or isinstance(b, list):
        return f"{argv(a) if isinstance(a, list) else plain(a)} → {argv(b) if isinstance(b, list) else plain(b)}"
    return f"{plain(a)} → {plain(b)}"


def _delta(value: dict[str, Any]) -> str:
    parts = []
    for key, css, sign in (("added", "good", "+"), ("removed", "bad", "-"), ("upgraded", "warn", "~")):
        items = value.get(key) or []
        if isinstance(items, list) and items:
            shown = ", ".join(str(i) for i in items[:MAX_ITEMS]) + _more(len(items))
            parts.append(f"<span class=\"{css}\">{sign} {text(shown, 2000)}</span>")
    return "<br>".join(parts) or "-"

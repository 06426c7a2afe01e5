"""Driving one xaikit widget in the page as a user would: step, play, choose, click.

Every action returns what went wrong as text (empty when nothing did), so a test can try all of
them and report every problem at once. Widgets are addressed by the ``data-xaikit-test`` index
that :func:`mark_widgets` gives their root elements.
"""

from __future__ import annotations

import re
import time

from tests.browser.lab import WIDGET_ROOTS, picture_signatures, widget_errors

# Tags the outermost widget roots with data-xaikit-test="0", "1", ... in page order.
MARK_WIDGETS = f"""() => {{
    const roots = [...document.querySelectorAll('{WIDGET_ROOTS}')]
        .filter((node) => !node.parentElement.closest('{WIDGET_ROOTS}'));
    roots.forEach((node, index) => node.dataset.xaikitTest = String(index));
    return roots.map((node) => node.className);
}}"""

# Distinct pictures seen on animation frames for ``duration`` ms (by the main picture's src).
COUNT_PICTURES = """(root, duration) => new Promise((resolve) => {
    const seen = new Set();
    const end = performance.now() + duration;
    const sample = () => {
        const picture = root.querySelector('.xaikit-picture img, img.xaikit-picture')
            || root.querySelector('img');
        if (picture) seen.add(picture.src);
        if (performance.now() < end) requestAnimationFrame(sample); else resolve(seen.size);
    };
    requestAnimationFrame(sample);
})"""

#: How long an action may take to change the picture (a loaded 2-core machine, maps to compute).
CHANGE_TIMEOUT_S = 15.0


def mark_widgets(page) -> list[str]:
    """Tag the widget roots in the page; returns their class names, in page order."""
    return page.evaluate(MARK_WIDGETS)


def widget_locator(page, index: int):
    return page.locator(f'[data-xaikit-test="{index}"]')


def frame_slider(widget):
    """The widget's frame slider (described "frame"), or ``None``."""
    label = widget.page.locator(".widget-label", has_text=re.compile(r"^\s*frame\s*$"))
    described = widget.locator(".widget-slider").filter(has=label)
    return described.first if described.count() else None


def wait_for_change(widget, before: list[str], everything: bool = False) -> bool:
    """Wait until the widget's picture signatures differ from ``before``; False on timeout."""
    deadline = time.monotonic() + CHANGE_TIMEOUT_S
    while time.monotonic() < deadline:
        now = picture_signatures(widget, everything)
        if now != before and not any(s.startswith("unloaded:") for s in now):
            return True
        widget.page.wait_for_timeout(100)
    return False


def step(widget) -> str:
    """Press the right arrow key on the frame slider's handle three times."""
    slider = frame_slider(widget)
    if slider is None:
        return ""  # nothing to step
    before = picture_signatures(widget)
    handle = slider.locator(".noUi-handle").first
    handle.focus()
    for _ in range(3):
        handle.press("ArrowRight")
    if not wait_for_change(widget, before):
        return "stepping the frame slider (3 x ArrowRight) did not change the picture"
    return ""


def play(widget, seconds: float = 2.0, minimum: int = 3) -> str:
    """Press Play for ``seconds``, count the distinct pictures shown, then pause if still
    playing."""
    buttons = widget.locator(".widget-play button")
    if not buttons.count():
        return ""
    buttons.first.click()
    shown = widget.evaluate(COUNT_PICTURES, int(seconds * 1000))
    pause = widget.locator(".widget-play button:has(.fa-pause)")
    if pause.count():  # still playing (a short video may have reached its end)
        pause.first.click()
    widget.page.wait_for_timeout(300)
    if shown < minimum:
        return f"Play showed {shown} distinct pictures in {seconds:.0f} s (want >= {minimum})"
    return ""


def dropdowns(widget) -> list[str]:
    """The descriptions of the widget's visible dropdowns, in page order."""
    return widget.evaluate(
        """(root) => [...root.querySelectorAll('.widget-dropdown')]
            .filter((node) => node.offsetParent !== null && node.querySelector('select'))
            .map((node) => (node.querySelector('label')?.innerText || '').trim())"""
    )


def choose_another(widget, index: int) -> str:
    """Choose the next option of the ``index``-th visible dropdown; the widget's images (the
    picture, or e.g. a chart) must change."""
    select = widget.locator(".widget-dropdown select").nth(index)
    options = select.locator("option")
    count = options.count()
    if count < 2:
        return ""
    current = select.evaluate("(node) => node.selectedIndex")
    target = (current + 1) % count
    label = options.nth(target).inner_text()
    before = picture_signatures(widget, everything=True)
    select.select_option(index=target)
    if not wait_for_change(widget, before, everything=True):
        return f"choosing {label!r} in dropdown {index} changed no picture"
    return ""


def click_picture(widget) -> str:
    """Click the main picture at 40 % of its width and height; where the widget has a click
    readout (``xaikit-probe``) it or the picture must change."""
    pictures = widget.locator(".xaikit-picture")
    target = pictures.first if pictures.count() else widget.locator("img").first
    if not target.count():
        return "no picture to click"
    probe = widget.locator(".xaikit-probe")
    before_text = probe.first.inner_text() if probe.count() else None
    before = picture_signatures(widget)
    box = target.bounding_box()
    target.click(position={"x": box["width"] * 0.4, "y": box["height"] * 0.4})
    if before_text is None:
        widget.page.wait_for_timeout(500)
        return ""
    deadline = time.monotonic() + CHANGE_TIMEOUT_S
    while time.monotonic() < deadline:
        if probe.first.inner_text() != before_text or picture_signatures(widget) != before:
            return ""
        widget.page.wait_for_timeout(100)
    return "clicking the picture changed neither the click readout nor the picture"


def errors_now(widget) -> list[str]:
    """The widget's visible error lines."""
    return widget_errors(widget)

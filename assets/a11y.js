/*
 * Accessible names and roles for Dash 4 widgets that cannot be given them from Python.
 *
 * dcc.Slider, dcc.Dropdown and dcc.Upload render their focusable control inside a wrapper and
 * take no aria props. The layout names each one with a <label for="WIDGET-ID"> (see
 * dashapp/shared/components.label_for); this script copies the label's text (or its data-name)
 * onto the controls inside the widget. It also fixes two Dash 4 dropdown details axe reports:
 * the keyboard focus target is aria-hidden (a focusable element hidden from screen readers), and
 * the "clear" link has no role. Nothing here changes what a widget does.
 *
 * Focus survives a re-render: when a callback redraws the part of the page holding the focused
 * control (a "Select" button of a table whose rows show the selection), the browser drops the
 * focus to <body> and a keyboard user starts again from the top. If the focused element left
 * the page and a new one with the same id took its place, it gets the focus back.
 */
(function () {
    "use strict";

    var LABELABLE = /^(INPUT|SELECT|TEXTAREA|BUTTON|METER|OUTPUT|PROGRESS)$/;
    var CONTROLS = '[role="slider"], input, .dash-dropdown-focus-target';

    function nameOf(label) {
        var given = label.getAttribute("data-name");
        return (given || label.textContent).replace(/\s+/g, " ").trim();
    }

    function setAttr(el, name, value) {
        if (el.getAttribute(name) !== value) {
            el.setAttribute(name, value);
        }
    }

    function nameWidgets() {
        document.querySelectorAll("label[for]").forEach(function (label) {
            var target = document.getElementById(label.htmlFor);
            if (!target) {
                return;
            }
            // A dropdown's id is on its button; the keyboard focuses an input beside it.
            var scope = target.closest(".dash-dropdown-wrapper");
            if (!scope && LABELABLE.test(target.tagName)) {
                return;  // a plain control: the label names it natively
            }
            var name = nameOf(label);
            (scope || target).querySelectorAll(CONTROLS).forEach(function (el) {
                setAttr(el, "aria-label", name);
            });
        });
    }

    function fixDropdowns() {
        document.querySelectorAll(".dash-dropdown-focus-target").forEach(function (el) {
            var button = el.parentElement && el.parentElement.querySelector("button.dash-dropdown");
            el.removeAttribute("aria-hidden");
            setAttr(el, "role", "combobox");
            setAttr(el, "aria-haspopup", "listbox");
            setAttr(el, "aria-expanded", button ? button.getAttribute("aria-expanded") || "false" : "false");
        });
        document.querySelectorAll("a.dash-dropdown-clear").forEach(function (el) {
            setAttr(el, "role", "button");
        });
    }

    var lastFocused = null;

    document.addEventListener("focusin", function (event) {
        lastFocused = event.target;
    }, true);

    function keepFocus() {
        var active = document.activeElement;
        if (!lastFocused || !lastFocused.id || lastFocused.isConnected ||
                (active && active !== document.body)) {
            return;
        }
        var again = document.getElementById(lastFocused.id);
        if (again) {
            again.focus({preventScroll: true});
        }
    }

    var scheduled = false;

    function patch() {
        scheduled = false;
        nameWidgets();
        fixDropdowns();
        keepFocus();
    }

    function schedule() {
        if (!scheduled) {
            scheduled = true;
            window.requestAnimationFrame(patch);
        }
    }

    new MutationObserver(schedule).observe(document.documentElement, {
        childList: true,
        subtree: true,
        attributes: true,
        attributeFilter: ["aria-expanded", "aria-hidden"],
    });
    schedule();
})();

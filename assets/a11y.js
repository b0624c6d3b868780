/*
 * Accessible names and roles for Dash 4 widgets that cannot be given them from Python.
 *
 * dcc.Slider, dcc.Dropdown, dcc.Upload (and dbc.Progress) render their control inside a wrapper and
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
 *
 * Tab leaves an open dropdown: Dash 4 keeps the focus inside the open list (Tab cycles through
 * its options), a trap for a keyboard user who does not know Escape. Tab (Shift+Tab) in the
 * open list closes it, as Escape does, and moves on to the control after (before) it.
 */
(function () {
    "use strict";

    var LABELABLE = /^(INPUT|SELECT|TEXTAREA|BUTTON|METER|OUTPUT|PROGRESS)$/;
    var CONTROLS = '[role="slider"], [role="progressbar"], input, .dash-dropdown-focus-target';

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

    var TABBABLE = 'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), ' +
        'select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

    function tabbables() {
        return Array.prototype.filter.call(document.querySelectorAll(TABBABLE), function (el) {
            return el.tabIndex >= 0 && el.getClientRects().length > 0 &&
                !el.closest(".dash-dropdown-content");
        });
    }

    function leaveDropdown(triggerId, backwards) {
        if (document.querySelector(".dash-dropdown-content")) {
            window.requestAnimationFrame(function () { leaveDropdown(triggerId, backwards); });
            return;
        }
        // The dropdown gives the focus back to its button once closed (re-rendered: found
        // again by its id): move on after that.
        window.setTimeout(function () {
            var trigger = document.getElementById(triggerId);
            var widget = trigger && (trigger.closest(".dash-dropdown-wrapper") || trigger);
            var next = widget && besides(widget, backwards);
            (next || trigger || document.body).focus();
        }, 0);
    }

    // The first tabbable element after ``widget`` (before it, ``backwards``), outside it.
    function besides(widget, backwards) {
        var outside = tabbables().filter(function (el) { return !widget.contains(el); });
        var after = outside.filter(function (el) {
            return widget.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING;
        });
        if (!backwards) {
            return after[0];
        }
        var before = outside.filter(function (el) { return after.indexOf(el) < 0; });
        return before[before.length - 1];
    }

    document.addEventListener("keydown", function (event) {
        var target = event.target;
        if (event.key !== "Tab" || !target.closest || !target.closest(".dash-dropdown-content")) {
            return;
        }
        var trigger = document.querySelector('button.dash-dropdown[aria-expanded="true"]');
        if (!trigger || !trigger.id) {
            return;
        }
        event.preventDefault();
        event.stopPropagation();
        target.dispatchEvent(new KeyboardEvent("keydown", {key: "Escape", bubbles: true}));
        var id = trigger.id;
        window.requestAnimationFrame(function () { leaveDropdown(id, event.shiftKey); });
    }, true);

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

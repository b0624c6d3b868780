/*
 * Enter applies the number typed into a slider's box. Dash's sliders take a typed value only
 * when their box loses focus; the Model page's fields apply on Enter, so these do too: Enter
 * blurs the box (the slider reads the value then) and focuses it again for the next value.
 */
(function () {
    "use strict";

    document.addEventListener("keydown", function (event) {
        var box = event.target;
        if (event.key !== "Enter" || !box || !box.matches ||
                !box.matches("input.dash-range-slider-input")) {
            return;
        }
        event.preventDefault();
        box.blur();
        box.focus();
    }, true);
})();

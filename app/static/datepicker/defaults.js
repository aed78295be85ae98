/* Every date picker of the app in Chinese, weeks starting on Monday (issue 15 point 3).
   Loaded by malan_base.html after FAB's picker and before the page is ready, so FAB's own
   $('.appbuilder_date').datepicker({...}) in ab.js picks these defaults up. */
(function ($) {
  "use strict";
  var picker = $.fn.datepicker;
  if (!picker) { return; }
  picker.defaults.language = "zh-CN";
  picker.defaults.weekStart = 1;
  picker.defaults.format = "yyyy-mm-dd";
  picker.defaults.autoclose = true;
  picker.defaults.todayHighlight = true;
  // FAB's list filters call .datetimepicker(), a plugin it no longer ships: the same picker.
  if (!$.fn.datetimepicker) {
    $.fn.datetimepicker = function () { return this.datepicker({format: "yyyy-mm-dd"}); };
  }
}(jQuery));

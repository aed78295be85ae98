/* 授课档期: with "Mark a range" filled in, tapping two days of the calendar sets From and To
   instead of toggling one day. No dependency; the page works without it. */
(function () {
  "use strict";
  var start = document.getElementById("start");
  var end = document.getElementById("end");
  var calendar = document.getElementById("calendar");
  var range = document.getElementById("range-form");
  if (!start || !end || !calendar || !range) { return; }
  var picking = false;
  range.addEventListener("focusin", function () { picking = true; });
  calendar.addEventListener("click", function (event) {
    var cell = event.target.closest("td[data-day]");
    if (!picking || !cell) { return; }
    event.preventDefault();
    var day = cell.getAttribute("data-day");
    if (!start.value || (start.value && end.value)) {
      start.value = day; end.value = "";
    } else if (day < start.value) {
      end.value = start.value; start.value = day;
    } else {
      end.value = day;
    }
    var cells = calendar.querySelectorAll("td[data-day]");
    for (var i = 0; i < cells.length; i++) {
      var d = cells[i].getAttribute("data-day");
      cells[i].classList.toggle("day-picked", d >= start.value && d <= (end.value || start.value));
    }
  });
})();

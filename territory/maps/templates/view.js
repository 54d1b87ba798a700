{#- The view of a page (`territory.maps.page.View`): the opening view fitted
    between the boxes on the left and the controls on the right, the buttons
    "Whole country" and back to the moves, and the legend rows shown while
    their layers are on the map.  The bounds are numbers and the labels
    constants of `territory.maps.page`.  Views change without animation:
    Leaflet starts one on the next frame, which a page printed headless never
    draws. -#}
{% macro script(this, kwargs) %}
(function (map) {
  var country = {{ this.country|tojson }};
  var focus = {{ this.focus|tojson }};
  var buttons = {{ this.buttons|tojson }};
  var container = map.getContainer();
  function padding() {
    var box = container.getBoundingClientRect();
    var left = 0;
    var right = 0;
    var i;
    var r;
    var panels = document.getElementById("territory-panels");
    if (panels) {
      for (i = 0; i < panels.children.length; i++) {
        r = panels.children[i].getBoundingClientRect();
        if (r.width > 0) left = Math.max(left, r.right - box.left);
      }
    }
    var corner = container.querySelector(".leaflet-top.leaflet-right");
    if (corner) {
      for (i = 0; i < corner.children.length; i++) {
        r = corner.children[i].getBoundingClientRect();
        if (r.width > 0) right = Math.max(right, box.right - r.left);
      }
    }
    if (box.width - left - right < 240) {
      left = 0;
      right = 0;
    }
    return {paddingTopLeft: [left + 10, 10], paddingBottomRight: [right + 10, 24]};
  }
  function fit(bounds) {
    var options = padding();
    options.animate = false;
    map.fitBounds(bounds, options);
  }
  if (focus) {
    var views = L.control({position: "topright"});
    views.onAdd = function () {
      var bar = L.DomUtil.create("div", "leaflet-bar territory-views");
      buttons.forEach(function (b) {
        var a = L.DomUtil.create("a", "territory-view-" + b[2], bar);
        a.href = "#";
        a.setAttribute("role", "button");
        a.textContent = b[0];
        a.title = b[1];
        L.DomEvent.on(a, "click", function (e) {
          L.DomEvent.stop(e);
          fit(b[2] === "country" ? country : focus);
        });
      });
      L.DomEvent.disableClickPropagation(bar);
      return bar;
    };
    views.addTo(map);
    var holder = views.getContainer().parentNode;
    holder.insertBefore(views.getContainer(), holder.children[1] || null);
  }
  var on = {};
  function key(layer) {
    return layer.options && layer.options.territoryKey;
  }
  function sync() {
    var rows = document.querySelectorAll("#territory-legend [data-layers]");
    for (var j = 0; j < rows.length; j++) {
      var keys = rows[j].getAttribute("data-layers").split(" ");
      var shown = keys.some(function (k) { return on[k] === true; });
      rows[j].style.display = shown ? "" : "none";
    }
  }
  map.eachLayer(function (layer) {
    if (key(layer)) on[key(layer)] = true;
  });
  map.on("layeradd", function (e) {
    if (key(e.layer)) {
      on[key(e.layer)] = true;
      sync();
    }
  });
  map.on("layerremove", function (e) {
    if (key(e.layer)) {
      delete on[key(e.layer)];
      sync();
    }
  });
  sync();
  fit(focus || country);
})({{ this._parent.get_name() }});
{% endmacro %}

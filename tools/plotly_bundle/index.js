'use strict';

// The trace types custseg's figures draw (dashapp/): scatter (in core), bar, heatmap, funnel,
// sankey, treemap. Core brings every layout component (legend, annotations, shapes, colorbar,
// modebar, ...). A figure with another trace type would draw nothing: add its module here.
var Plotly = require('plotly.js/lib/core');

Plotly.register([
    require('plotly.js/lib/bar'),
    require('plotly.js/lib/heatmap'),
    require('plotly.js/lib/funnel'),
    require('plotly.js/lib/sankey'),
    require('plotly.js/lib/treemap'),
]);

module.exports = Plotly;

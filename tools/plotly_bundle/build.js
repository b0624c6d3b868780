'use strict';
// Bundles index.js (plotly.js core + the trace types custseg draws) into one minified script
// that defines window.Plotly, with the options of plotly.js's own build (its esbuild-config.js:
// an IIFE named Plotly, es2016, `global` as window). Usage: node build.js OUTFILE
const fs = require('fs');
const esbuild = require('esbuild');

const outfile = process.argv[2];
const version = require('plotly.js/package.json').version;
// plotly.js's own header (the first comment of its dist files), naming this bundle.
const header = fs.readFileSync(require.resolve('plotly.js/dist/plotly.min.js'), 'utf8')
    .match(/^\/\*\*[\s\S]*?\*\//)[0]
    .replace(/^\* plotly\.js v.*$/m,
        `* plotly.js (custseg partial: scatter, bar, heatmap, funnel, sankey, treemap - minified) v${version}`);

esbuild.build({
    entryPoints: [require.resolve('./index.js')],
    outfile,
    format: 'iife',
    globalName: 'Plotly',
    bundle: true,
    minify: true,
    target: 'es2016',
    define: { global: 'window', 'define.amd': 'false', 'process.env.NODE_DEBUG': 'false' },
    // The only stylesheet required is maplibre-gl's, for map traces this bundle leaves out.
    loader: { '.css': 'empty' },
    banner: { js: header },
    footer: { js: 'window.Plotly = Plotly;' },
    legalComments: 'eof',  // the bundled packages' licence comments, as plotly.js's dist files
    logLevel: 'warning',
}).catch(() => process.exit(1));

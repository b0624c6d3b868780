"""The Spark engine: the same cleaning audit, customer features and segments as the Polars
engine, computed with Spark DataFrames and MLlib for data beyond one machine.

Optional: needs ``pip install custseg[spark]`` and a Java runtime (17 or 21). Nothing here is
imported by the rest of ``core`` unless ``--engine spark`` is asked for, and the definitions
(rule order, non-product codes, feature formulas' constants) come from the Polars modules: this
package translates them, it does not restate them.
"""

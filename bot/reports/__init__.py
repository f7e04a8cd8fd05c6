"""The admins' aggregate report: anonymous, visual, exportable.

aggregates  the SQL (GROUP BY over the assessments; nothing per person leaves the database)
anonymity   folding small departments, primary and secondary cell suppression (pure)
report      the AggregateReport that text, chart and CSV all render from, and the text
reading     the short written reading at the top
chart       the PNG (matplotlib, Agg)
csv_export  the CSV (UTF-8 with BOM)
terminal    `coachbot report` and `coachbot demo-data`
"""

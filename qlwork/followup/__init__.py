"""Follow-through after the ranking (整改/销号, 廉政风险点, regions as entities, feedback by level).

Pure functions on tables and official results (no files, no clock):

- :mod:`.dates` — period end dates, issue dates, reading dates;
- :mod:`.items` — rectification items from the warnings of an official result, the policy;
- :mod:`.merge` — merging the ledger with new warnings (no entry lost, status only forward),
  status on a date;
- :mod:`.measures` — rectification rates and risk measures (views and framework indicators);
- :mod:`.review` — follow-up (回头看) and the inspection list (重点名录);
- :mod:`.regions` — 市州/县市区/乡镇 results from their units' official results;
- :mod:`.feedback` — what each recipient level sees, and the public-release ranking.

The registers themselves (schema, template, located reading) are in :mod:`qlwork.registers`;
the tasks that read and write files are in :mod:`qlwork.workflow.follow_through`.
"""

"""Investigation tools, run one at a time: a/b of two checkouts, the load ladder, in-process
profiles, the turn timeline, database call timings, the soak (bench/README.md, "Profiling")."""

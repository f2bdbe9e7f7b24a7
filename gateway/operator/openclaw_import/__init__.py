"""`manage.py import-openclaw`: an OpenClaw state directory (`~/.openclaw`) brought into this
gateway: agents, workspaces and memory, channel accounts, session transcripts and cron jobs.
One module per concept; `runner` builds the plan from them and applies it."""

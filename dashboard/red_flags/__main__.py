"""`python -m dashboard.red_flags --markdown` prints the README rule table; plain, the rule-set version."""

import sys

from dashboard.red_flags import rule_set_version, rules_markdown

if "--markdown" in sys.argv:
    print(rules_markdown(), end="")
else:
    print(rule_set_version())

"""The `notice:` section: how the printed village notice (公示) is dated and signed.

```yaml
notice:
  days: 7                      # the notice period, from the day it is pinned up
  complaint_phone: "0796-8221234"
  complaint_office: 吉州区乡村振兴局   # who answers that telephone
  issuer: ""                   # who signs it; empty: the village's 村民委员会
```

Every key has a default, so a config without the section still prints a notice; the
default telephone is 12317, the national poverty-alleviation supervision line.
"""

from __future__ import annotations

from pydantic import Field

from core.config.types import Section


class Notice(Section):
    """Settings of the printed notice (revenue/notice_pdf.py)."""

    #: the notice period [days], counted from the publication date
    days: int = Field(default=7, ge=1, le=90)
    #: the telephone for complaints printed on every notice: digits, '-', ' ', '+'
    complaint_phone: str = Field(default="12317", pattern=r"^\+?[0-9][0-9 -]{2,24}$")
    #: who answers complaints (printed beside the telephone)
    complaint_office: str = Field(default="", max_length=60)
    #: who signs the notice; empty: "<village name>村民委员会"
    issuer: str = Field(default="", max_length=60)

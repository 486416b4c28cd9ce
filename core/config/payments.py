"""The `payments:` section: the banks a final run's batch file is written for.

```yaml
payments:
  bank: rcc-jizhou                  # the bank `pvledger payments batch` uses by default
  banks:
    - id: rcc-jizhou
      template: county-agri-xlsx    # a shipped template (revenue/bank_templates/NAME.yaml)
                                    # or the path of a YAML template file beside config.yaml
      payer_name: 吉州区乡村振兴局    # the debited account's holder, in the file's header
      payer_account: "3624010012345678"
      purpose: 光伏扶贫收益           # the memo on every transfer
```

A template is data (columns, order, encoding, header and trailer rows, the return file's
status columns); revenue/bank_templates.py reads and validates it when a batch is written.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from core.config.types import Identifier, Section

#: a shipped template name: letters, digits and '-' (anything else is a file path)
TEMPLATE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


class Bank(Section):
    """One bank the county pays through, and the template of its batch file."""

    id: Identifier
    template: str = Field(min_length=1)
    payer_name: str = ""
    payer_account: str = ""
    purpose: str = "光伏扶贫收益"

    @field_validator("template")
    @classmethod
    def _name_or_yaml(cls, v: str) -> str:
        if not TEMPLATE_NAME_RE.match(v) and not v.endswith((".yaml", ".yml")):
            raise ValueError(
                f"{v!r} is neither a shipped template name (generic-csv, county-agri-xlsx) "
                "nor the path of a .yaml template file"
            )
        return v


class Payments(Section):
    """Where final runs are paid: the banks and the default one."""

    bank: Identifier | None = None
    banks: list[Bank] = Field(default_factory=list)

    @model_validator(mode="after")
    def _known_default(self) -> Payments:
        ids = [b.id for b in self.banks]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"bank id(s) {', '.join(dup)} given twice; give each bank once")
        if self.bank is not None and self.bank not in ids:
            raise ValueError(
                f"bank {self.bank!r} is not one of banks ({', '.join(ids) or 'none'}); "
                "add it under banks: or name one that is"
            )
        return self

    def bank_by_id(self, bank_id: str | None) -> Bank | None:
        """The named bank, else the default one, else the only one; None when unknown."""
        if bank_id is None:
            bank_id = self.bank or (self.banks[0].id if len(self.banks) == 1 else None)
        return next((b for b in self.banks if b.id == bank_id), None)

"""Tax ids validated by country with python-stdnum, stored in their compact form.

Brazil takes a CNPJ (companies, 14 digits) or a CPF (persons, 11 digits);
Denmark a CVR; Italy a partita IVA (11 digits) or a codice fiscale (16
characters, persons); every other country its VAT number when python-stdnum
knows one (``stdnum.<cc>.vat`` or the module ``get_cc_module`` names), else
the EU VAT rules for a prefixed number. A country python-stdnum has no
validator for keeps the id as typed, only stripped of separators — we cannot
tell right from wrong there and refusing it would block real customers.
"""

from __future__ import annotations

import re
from types import ModuleType

from stdnum import get_cc_module
from stdnum.br import cnpj, cpf
from stdnum.dk import cvr
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError
from stdnum.it import codicefiscale, iva

from contracts.masterdata.errors import InvalidTaxId

_SEPARATORS = re.compile(r"[\s.\-/,]+")


def _check(module: ModuleType, value: str, label: str, country: str, field: str) -> str:
    try:
        return str(module.validate(value))
    except ValidationError as exc:
        raise InvalidTaxId(
            f"{value!r} is not a valid {label} ({country}): {exc.message}", field=field
        ) from exc


def _brazil(value: str, field: str) -> str:
    digits = cnpj.compact(value)
    if len(digits) == 11:
        return _check(cpf, value, "CPF", "BR", field)
    if len(digits) == 14 or not digits.isdigit():
        return _check(cnpj, value, "CNPJ", "BR", field)
    raise InvalidTaxId(
        f"{value!r} is neither a CNPJ (14 digits) nor a CPF (11 digits)", field=field
    )


def _italy(value: str, field: str) -> str:
    compact = iva.compact(value)
    if len(compact) == 16:
        return _check(codicefiscale, compact, "codice fiscale", "IT", field)
    return _check(iva, value, "partita IVA", "IT", field)


def normalize_tax_id(country: str, tax_id: str, *, field: str = "tax_id") -> str:
    """The compact form of ``tax_id`` for ``country`` (ISO-2); "" stays "" (not known).

    Raises InvalidTaxId (a 422 naming ``field``) when the country has a validator
    and the number fails it.
    """
    value = (tax_id or "").strip()
    if not value:
        return ""
    cc = country.upper()
    if cc == "BR":
        return _brazil(value, field)
    if cc == "DK":
        return _check(cvr, value, "CVR number", "DK", field)
    if cc == "IT":
        return _italy(value, field)
    module = _vat_module(cc)
    if module is not None:
        return _check(module, value, "VAT number", cc, field)
    if value[:2].upper() in eu_vat.MEMBER_STATES or value[:2].upper() == "EL":
        return _check(eu_vat, value, "EU VAT number", cc, field)
    return _SEPARATORS.sub("", value).upper()


def _vat_module(cc: str) -> ModuleType | None:
    if len(cc) != 2 or not cc.isalpha():
        return None
    try:
        return get_cc_module(cc.lower(), "vat")
    except ImportError:
        return None

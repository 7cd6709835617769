import pytest

from contracts.masterdata.errors import InvalidTaxId
from contracts.masterdata.taxid import normalize_tax_id


@pytest.mark.parametrize(("country", "typed", "stored"), [
    ("BR", "11.222.333/0001-81", "11222333000181"),  # CNPJ
    ("BR", "529.982.247-25", "52998224725"),  # CPF
    ("DK", "DK 13 58 56 28", "13585628"),  # CVR
    ("IT", "IT 00743110157", "00743110157"),  # partita IVA
    ("IT", "rccmnl83s18d969h", "RCCMNL83S18D969H"),  # codice fiscale
    ("DE", "DE 136,695 976", "136695976"),  # VAT elsewhere
    ("br", "11222333000181", "11222333000181"),
])
def test_valid_tax_ids_are_stored_in_their_compact_form(country, typed, stored):
    assert normalize_tax_id(country, typed) == stored


@pytest.mark.parametrize(("country", "typed", "says"), [
    ("BR", "11.222.333/0001-82", "CNPJ"),
    ("BR", "529.982.247-26", "CPF"),
    ("BR", "123", "neither a CNPJ"),
    ("DK", "13585627", "CVR"),
    ("IT", "00743110158", "partita IVA"),
    ("IT", "RCCMNL83S18D969X", "codice fiscale"),
    ("DE", "DE136695977", "VAT"),
])
def test_invalid_tax_ids_are_refused_naming_the_field_and_the_kind(country, typed, says):
    with pytest.raises(InvalidTaxId) as err:
        normalize_tax_id(country, typed)
    assert err.value.field == "tax_id"
    assert says in err.value.detail
    assert err.value.status == 422


def test_an_empty_tax_id_means_unknown_and_is_kept_empty():
    assert normalize_tax_id("BR", "  ") == ""


def test_a_country_without_a_validator_keeps_the_id_without_separators():
    assert normalize_tax_id("US", "12-3456789") == "123456789"

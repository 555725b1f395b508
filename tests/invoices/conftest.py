from tests.money_conftest import books_checked  # noqa: F401

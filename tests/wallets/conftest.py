import pytest

from tests.factories import fill_pool
from wallets.models import Chain
from wallets.services import master_wallet_ensure


@pytest.fixture
def wallets(live_db, regtest):
    """Both master wallets recorded and their pools filled to POOL_MIN."""
    for chain in Chain.values:
        master_wallet_ensure(chain=chain)
        fill_pool(chain)

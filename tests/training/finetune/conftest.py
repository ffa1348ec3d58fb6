import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    """The pipelines' CPU policy (--threads 1): on a shared 2-core machine a second thread mostly waits."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)

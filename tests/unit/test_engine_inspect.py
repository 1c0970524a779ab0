"""migrate/engine.inspect: an object that is not there is None, whatever
the engine's words for it (20.10: "No such network"; 26: "network X not
found"); any other failure is an error."""
import pytest

from fleet.errors import CommandError
from fleet.remote import CommandResult
from migrate import engine


class Answering:
    name = "new"

    def __init__(self, stderr):
        self.stderr = stderr

    def run(self, argv, sudo=False, check=True):
        return CommandResult("new", " ".join(argv), 1, "", self.stderr)


@pytest.mark.parametrize("stderr", [
    "Error: No such network: f-net\n",                                 # engine 20.10
    "Error response from daemon: network f-net not found\n",           # engine 26
    "Error: No such object: f-net\n"])
def test_a_network_that_is_not_there_is_none(stderr):
    assert engine.inspect(Answering(stderr), "network", "f-net") is None


def test_another_failure_is_an_error():
    with pytest.raises(CommandError):
        engine.inspect(Answering("permission denied while trying to connect\n"), "network", "f-net")

# Runs moto_server with one fix for running the job workflow locally.
#
# moto 5.x deep-copies a state machine on every StartExecution, including
# its list of executions. An execution holds thread locks, which cannot be
# copied, so with execute_state_machine on, the second StartExecution of
# any state machine fails with "cannot pickle '_thread.RLock' object". The
# copy only needs the definition: copy everything but the executions.
import copy
import sys

from moto.stepfunctions.models import StateMachineInstance


def _deepcopy_without_executions(self, memo):
    cls = self.__class__
    clone = cls.__new__(cls)
    memo[id(self)] = clone
    for name, value in self.__dict__.items():
        setattr(clone, name, [] if name == "executions" else copy.deepcopy(value, memo))
    return clone


StateMachineInstance.__deepcopy__ = _deepcopy_without_executions

from moto.server import main  # noqa: E402

sys.argv[0] = "moto_server"
main()

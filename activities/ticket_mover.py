"""Moving open tickets to a newer agreement version, for amendments that say so."""

from __future__ import annotations

from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError

from slaflow import search_attributes as attrs
from slaflow.customers import DEFAULT_AGREEMENT_ID
from slaflow.tickets import ADOPT_TERMS_UPDATE, AdoptTerms, TicketView
from workflows.amendment_calls import MOVE_OPEN_TICKETS, MovedTickets, MoveRequest


class TicketMoverActivities:
    def __init__(self, client: Client) -> None:
        self._client = client

    @activity.defn(name=MOVE_OPEN_TICKETS)
    async def move_open_tickets(self, request: MoveRequest) -> MovedTickets:
        """Send `adopt_terms` to every running ticket on the task queue. Safe to retry: a ticket
        already on the version refuses, and is reported as kept with that reason."""
        query = (
            "WorkflowType = 'TicketWorkflow' AND ExecutionStatus = 'Running' "
            f"AND TaskQueue = '{request.task_queue}'"
        )
        if request.agreement_id != DEFAULT_AGREEMENT_ID:
            # Default-agreement tickets opened before agreements were many carry no
            # SlaAgreement; they are listed too, and other agreements' tickets refuse.
            query += f" AND {attrs.AGREEMENT.name} = '{request.agreement_id}'"
        command = AdoptTerms(
            actor=f"amendment {request.amendment_id}",
            agreement_version=request.version,
            agreement_id=request.agreement_id,
        )
        result = MovedTickets()
        async for execution in self._client.list_workflows(query):
            handle = self._client.get_workflow_handle(execution.id)
            try:
                await handle.execute_update(ADOPT_TERMS_UPDATE, command, result_type=TicketView)
                result.moved.append(execution.id)
            except WorkflowUpdateFailedError as err:
                result.kept.append(f"{execution.id}: {err.cause}")
            activity.heartbeat(len(result.moved) + len(result.kept))
        return result

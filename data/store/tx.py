"""SqlTx, one transaction on the store: the groups of transaction methods (data.store.tx_*) combined."""

from __future__ import annotations

from data.store.tx_accounts import _Accounts
from data.store.tx_audit import _Audit
from data.store.tx_caseload import _Caseload
from data.store.tx_jobs import _Jobs
from data.store.tx_patient_reported import _PatientReported
from data.store.tx_patients import _PatientsAndVisits
from data.store.tx_records import _Records


class SqlTx(_PatientsAndVisits, _Jobs, _Records, _Audit, _Accounts, _Caseload, _PatientReported):
    """One transaction on the store (implements dashboard.ports.Tx)."""

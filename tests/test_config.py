"""Settings read from the environment reach the app's configuration, converted."""

import config
from app import create_app


def test_every_environment_setting_is_converted():
    values = config.from_environment({"SOLVER_WORKERS": "3", "COMPLIANCE_INLINE_LIMIT": "5", "SOLVER_TIME_LIMIT": "7.5"})
    assert values == {"SOLVER_WORKERS": 3, "COMPLIANCE_INLINE_LIMIT": 5, "SOLVER_TIME_LIMIT": 7.5}


def test_the_compliance_inline_limit_can_be_set_in_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("COMPLIANCE_INLINE_LIMIT", "7")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}"})
    assert app.config["COMPLIANCE_INLINE_LIMIT"] == 7

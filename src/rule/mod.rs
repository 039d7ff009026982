//! Rules: files in `queries/`, the condition language, alert shaping and rule tests.

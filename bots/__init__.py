"""Chat adapters (Slack, Discord): platform events in, questions to the answer core, answers out."""

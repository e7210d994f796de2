"""The decision: capacity under service targets, sizing and daily cost, the recommendation, the hybrid what-if."""

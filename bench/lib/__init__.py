"""Code the suite and the tools share: processes (fake model, gateways, bare Daphne), the
gateway client, token counts and the `Row` every figure is reported as."""

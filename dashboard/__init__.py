"""The city overview: a jurisdiction's figures by district and venue type, charts as SVG, CSV export."""

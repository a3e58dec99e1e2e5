"""The look the staff pages share (the console, the hand-off queue, the analytics page):
Gradio's default theme with a blue dark enough for white text on primary buttons (WCAG AA,
7.0:1; Gradio's default orange is not) and subdued text that still reads on white."""

from __future__ import annotations

import gradio as gr

THEME = gr.themes.Default(primary_hue=gr.themes.colors.blue).set(
    button_primary_background_fill="#0b4f8a",
    button_primary_background_fill_hover="#083b68",
    button_primary_background_fill_dark="#0b4f8a",
    button_primary_background_fill_hover_dark="#083b68",
    button_primary_text_color="#ffffff",
    button_primary_text_color_dark="#ffffff",
    input_placeholder_color="#52606d",
    body_text_color_subdued="#52606d",
)

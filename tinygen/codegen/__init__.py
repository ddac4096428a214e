"""C code generation: the planned int8 IR rendered through the Jinja templates in templates/."""

"""The reslab JupyterLab extension (prebuilt): live training curves and block-wise norms."""


def _jupyter_labextension_paths():
    return [{"src": "labextension", "dest": "reslab-jupyterlab"}]

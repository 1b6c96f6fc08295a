"""SMS providers behind one interface (``base.Provider``), looked up by name in ``registry``."""

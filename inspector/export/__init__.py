"""Getting bytes out of the merged view: ``cat`` one file, ``export`` a tree to a directory or tar."""

from .cat import cat_file
from .dir_writer import DirWriter
from .tar_writer import TarWriter, open_tar_dest
from .tree import ExportStats, export_tree

__all__ = ["DirWriter", "ExportStats", "TarWriter", "cat_file", "export_tree", "open_tar_dest"]

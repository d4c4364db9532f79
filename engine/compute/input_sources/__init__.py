"""The built-in kinds of --input. Importing a module registers its kinds; the order of the lines below is the
order of their guesses (after every exact name and prefix) and of error messages' list. A new kind is one module
here and one line below."""
from engine.compute.input_sources import files  # noqa: F401  image files, folders of images, videos
from engine.compute.input_sources import samples  # noqa: F401  digits, sample-photo
from engine.compute.input_sources import noise  # noqa: F401  noise
from engine.compute.input_sources import text  # noqa: F401  text:..., and free text for language models

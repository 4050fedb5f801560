"""cli.py: which command lines ask for TensorFlow's start-up logs. The one-line errors are
tested on the binaries themselves (test_bad_input.ModelInputTableTest.test_binaries)."""
import unittest

from tf_bilm_ner import cli


class VerboseRequestedTest(unittest.TestCase):

  def test_table(self):
    cases = [
        ([], False),
        (["--run_dir=x"], False),
        (["--verbosity=1"], True),
        (["--verbosity", "2"], True),
        (["-v", "1"], True),
        (["-v=1"], True),
        (["--v=3"], True),
        (["--verbosity=0"], False),
        (["--verbosity=-1"], False),
        (["--verbosity=debug"], True),
        (["--verbosity=info"], False),
        (["--verbosity"], False),            # value missing: absl will complain, not us
        (["--verbosity_x=1"], False),
        (["--run_dir=-v", "1"], False),
    ]
    for argv, want in cases:
      with self.subTest(argv=argv):
        self.assertEqual(cli.verbose_requested(["prog"] + argv), want)


if __name__ == "__main__":
  unittest.main()

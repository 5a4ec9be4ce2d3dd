# Sourced by scripts: `split_as_test DATA SPLIT DIR` makes DIR a data folder whose test/ is
# DATA's SPLIT (train/ and valid/ beside it, as the data has them), since `phrasegen stats`
# measures against a folder's test/ part.
split_as_test() {
  local data=$1 split=$2 dir=$3 part
  mkdir -p "$dir"
  for part in train valid; do ln -s "$(realpath "$data/$part")" "$dir/$part"; done
  ln -s "$(realpath "$data/$split")" "$dir/test"
}

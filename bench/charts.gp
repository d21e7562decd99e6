# Charts of `make bench` (see scripts/bench.sh):
#   gnuplot -e "dir='build/bench'" bench/charts.gp
# Reads the .dat files bench_report writes into `dir`, draws PNGs there.
if (!exists("dir")) dir = "build/bench"

set terminal pngcairo size 1400,560 font "sans,11" noenhanced
set datafile missing "nan"
set logscale xy
set xrange [700:1400000]
set xtics ("1k" 1000, "10k" 10000, "100k" 100000, "1M" 1000000)
set format y "%g"
set grid xtics ytics mytics
set key top left box opaque
set xlabel "states in the store"
set style line 1 lc rgb "#1b9e77" lw 2 pt 7 ps 1.2
set style line 2 lc rgb "#d95f02" lw 2 pt 5 ps 1.2
set style line 3 lc rgb "#7570b3" lw 2 pt 9 ps 1.4
set style line 4 lc rgb "#e7298a" lw 2 pt 11 ps 1.4
set style line 5 lc rgb "#666666" lw 1.5 dt 2 pt 0
set style line 6 lc rgb "#999999" lw 1.5 dt 3 pt 0

set output dir."/commit.png"
set multiplot layout 1,2 title "Commit latency (wall clock, durable: fsync on)"
do for [kind in "10_changed all_changed"] {
  file = dir."/commit_".kind.".dat"
  set title (kind eq "10_changed" ? "10 states changed" : "every state changed")
  set ylabel "milliseconds per commit"
  plot file using 1:2 with linespoints ls 1 title "yaml", \
       file using 1:3 with linespoints ls 2 title "json", \
       file using 1:4 with linespoints ls 3 title "sqlite", \
       file using 1:5 with linespoints ls 4 title "lmdb", \
       file using 1:6 with lines ls 5 title "fsync floor, YAML file's size", \
       file using 1:7 with lines ls 6 title "fsync floor, changed states' size"
}
unset multiplot

set terminal pngcairo size 800,560 font "sans,11" noenhanced
set output dir."/load.png"
set title "Load time (open + load, file in the page cache)"
set ylabel "milliseconds"
file = dir."/load.dat"
plot file using 1:2 with linespoints ls 1 title "yaml", \
     file using 1:3 with linespoints ls 2 title "json", \
     file using 1:4 with linespoints ls 3 title "sqlite", \
     file using 1:5 with linespoints ls 4 title "lmdb"

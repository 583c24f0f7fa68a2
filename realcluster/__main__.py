from realcluster.cluster import main

main()
